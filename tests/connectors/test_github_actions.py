"""GitHub Actions specifics: `created` windows halved below the 1,000-result cap, every attempt of a re-run landed,
jobs read per attempt only for a named job, and the cursor held at the oldest run not yet completed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from pytest_httpserver import HTTPServer

from connectors.base import Checkpoint, Record
from connectors.github_actions import RESULTS_CAP, GithubActionsConnector, GithubActionsMapping
from connectors.http import ConnectorError
from tests.connectors.fakes import TOKEN, ActionsRuns, FakeApi, actions_run, collect, serve_actions

RUNS_PATH = "/repos/acme/shop/actions/workflows/deploy.yml/runs"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACT_TOKEN", TOKEN)


def connector(server: HTTPServer, page_size: int = 100, job: str | None = None) -> GithubActionsConnector:
    settings = GithubActionsConnector.settings_model.model_validate(
        {"api_url": server.url_for("/"), "token": "env:CONTRACT_TOKEN", "page_size": page_size}
    )
    mapping = GithubActionsMapping(repo="acme/shop", workflow="deploy.yml", job=job)
    actions = GithubActionsConnector(settings, {"shop": mapping})
    actions.client.sleep = lambda seconds: pytest.fail(f"the client waited {seconds}s: no fault should occur")
    return actions


def sync(
    actions: GithubActionsConnector, cursor: datetime | None = None
) -> tuple[dict[str, list[Record]], list[Checkpoint]]:
    return collect(actions, lambda stream, partition: cursor)


def listings(api: FakeApi) -> list[tuple[str, str]]:
    """(`created`, `per_page`) of every request for the runs list, in order."""
    return [(r.args["created"], r.args["per_page"]) for r in api.requests if r.path == RUNS_PATH]


def test_windows_are_halved_until_each_holds_fewer_runs_than_the_cap(httpserver: HTTPServer) -> None:
    """2,600 runs, 1,500 of them on one busy day, several sharing a second: every run lands once, no page is
    asked for past the cap, and each window that is paged counted fewer than 1,000 runs."""
    attempts = {}
    for i in range(2600):
        if i < 1500:  # two runs a second, every 100 seconds
            created = NOW - timedelta(days=2, seconds=(i // 2) * 100)
        else:
            created = NOW - timedelta(days=30, minutes=i * 10)
        attempts[(5000 + i, 1)] = actions_run(5000 + i, created)
    api = FakeApi(httpserver)
    runs = ActionsRuns(attempts)
    serve_actions(api, runs)

    records, checkpoints = sync(connector(httpserver))

    ids = [r.payload["id"] for r in records["workflow_runs"]]
    assert sorted(ids) == sorted(run_id for run_id, _ in attempts) and len(ids) == len(set(ids))
    answers = [response.status_code for _, response in httpserver.log]
    assert 422 not in answers, "never paged past the cap"
    probes = {created for created, per_page in listings(api) if per_page == "1"}
    paged = {created for created, per_page in listings(api) if per_page == "100"}
    assert paged <= probes and len(paged) > 2, "windows were split, and each was probed before it was paged"
    for window in paged:
        low, high = window.split("..")
        assert sum(low <= run["created_at"] <= high for run in attempts.values()) < RESULTS_CAP
    windows = sorted(tuple(w.split("..")) for w in paged)
    assert all(a[1] < b[0] for a, b in pairwise(windows)), "windows do not overlap"
    newest = max(run["created_at"] for run in attempts.values())
    assert checkpoints == [Checkpoint("workflow_runs", "acme/shop:deploy.yml", datetime.fromisoformat(newest))]


def test_the_fake_refuses_pages_past_the_cap(httpserver: HTTPServer) -> None:
    """The fake's cap is GitHub's: the 11th page of 100 answers 422 while `total_count` says 1,100."""
    attempts = {(9000 + i, 1): actions_run(9000 + i, NOW - timedelta(minutes=i)) for i in range(1100)}
    api = FakeApi(httpserver)
    serve_actions(api, ActionsRuns(attempts))
    client = connector(httpserver).client
    body, _ = client.get_json(RUNS_PATH, {"branch": "main", "per_page": 1})
    assert body["total_count"] == 1100
    with pytest.raises(ConnectorError, match="answered 422: Only the first 1000 search results"):
        client.get_json(RUNS_PATH, {"branch": "main", "per_page": 100, "page": 11})


def test_more_runs_in_one_second_than_the_cap_fail_clearly(httpserver: HTTPServer) -> None:
    moment = NOW - timedelta(days=1)
    attempts = {(7000 + i, 1): actions_run(7000 + i, moment) for i in range(RESULTS_CAP)}
    serve_actions(FakeApi(httpserver), ActionsRuns(attempts))
    with pytest.raises(ConnectorError, match="1000 runs created in the second"):
        sync(connector(httpserver))


def test_every_attempt_of_a_rerun_lands_with_its_jobs(httpserver: HTTPServer) -> None:
    """Run 300 failed, was re-run and cancelled, then re-run and passed: three rows, one per attempt, each as it
    was then; the earlier two read from `/attempts/{n}`, and each attempt's jobs from its own listing."""
    created = NOW - timedelta(hours=5)
    attempts = {
        (300, n): actions_run(300, created, n, conclusion=c)
        for n, c in enumerate(("failure", "cancelled", "success"), 1)
    }
    attempts[(301, 1)] = actions_run(301, created + timedelta(hours=1))
    api = FakeApi(httpserver)
    serve_actions(api, ActionsRuns(attempts))

    records, _ = sync(connector(httpserver, job="Deploy to production"))

    rows = {r.pk: r for r in records["workflow_runs"]}
    assert sorted(rows) == ["300:1", "300:2", "300:3", "301:1"]
    assert [rows[f"300:{n}"].payload["conclusion"] for n in (1, 2, 3)] == ["failure", "cancelled", "success"]
    assert rows["300:1"].payload["run_started_at"] < rows["300:3"].payload["run_started_at"], "reset on re-run"
    assert rows["300:1"].context == {"repo": "acme/shop", "workflow": "deploy.yml"}
    asked = [r.path for r in api.requests if "/attempts/" in r.path and not r.path.endswith("/jobs")]
    assert sorted(asked) == [f"/repos/acme/shop/actions/runs/300/attempts/{n}" for n in (1, 2)]
    deploys = [r for r in records["jobs"] if r.payload["name"] == "Deploy to production"]
    assert sorted((j.context["run_id"], j.context["run_attempt"], j.payload["conclusion"]) for j in deploys) == [
        (300, 1, "failure"),
        (300, 2, "cancelled"),
        (300, 3, "success"),
        (301, 1, "success"),
    ]
    latest = next(j for j in deploys if j.context["run_id"] == 300 and j.context["run_attempt"] == 3)
    assert latest.context == {"repo": "acme/shop", "workflow": "deploy.yml", "run_id": 300, "run_attempt": 3}


def test_jobs_are_read_only_when_a_mapping_names_a_job(httpserver: HTTPServer) -> None:
    attempts = {(400, n): actions_run(400, NOW - timedelta(hours=2), n) for n in (1, 2)}
    api = FakeApi(httpserver)
    serve_actions(api, ActionsRuns(attempts))
    records, _ = sync(connector(httpserver))
    assert set(records) == {"workflow_runs"} and len(records["workflow_runs"]) == 2
    assert not [r for r in api.requests if r.path.endswith("/jobs")]


def test_the_cursor_stays_at_the_oldest_run_not_yet_completed(httpserver: HTTPServer) -> None:
    """Runs created 6, 5, 4 and 3 hours ago; the one from 5 hours ago waits for approval and the one from 3 hours
    ago is running: the cursor is the waiting run's creation, and the next sync reads from there (the caller
    has already taken the lookback off)."""
    times = [NOW - timedelta(hours=h) for h in (6, 5, 4, 3)]
    attempts = {(600 + i, 1): actions_run(600 + i, t) for i, t in enumerate(times)}
    attempts[(601, 1)].update(status="waiting", conclusion=None)
    attempts[(603, 1)].update(status="in_progress", conclusion=None)
    api = FakeApi(httpserver)
    serve_actions(api, ActionsRuns(attempts))

    _, checkpoints = sync(connector(httpserver, page_size=2))
    assert checkpoints == [Checkpoint("workflow_runs", "acme/shop:deploy.yml", times[1])]

    api.requests.clear()
    attempts[(601, 1)].update(status="completed", conclusion="success")
    attempts[(603, 1)].update(status="completed", conclusion="success")
    records, checkpoints = sync(connector(httpserver, page_size=2), cursor=times[1])
    (probe, _), *_ = listings(api)
    assert probe.startswith(times[1].strftime("%Y-%m-%dT%H:%M:%SZ") + "..")
    assert sorted(r.payload["id"] for r in records["workflow_runs"]) == [601, 602, 603]
    assert checkpoints == [Checkpoint("workflow_runs", "acme/shop:deploy.yml", times[3])], "all done: the newest"


def test_github_headers_and_bearer_token(httpserver: HTTPServer) -> None:
    serve_actions(FakeApi(httpserver), ActionsRuns({(1, 1): actions_run(1, NOW - timedelta(hours=1))}))
    sync(connector(httpserver))
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_mapping_key() -> None:
    assert GithubActionsMapping(repo="acme/a", workflow="deploy.yml").key() == "acme/a:deploy.yml:"
    mapping = GithubActionsMapping(repo="acme/a", workflow="123", job="Deploy to production")
    assert mapping.key() == "acme/a:123:Deploy to production"
