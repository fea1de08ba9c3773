"""The generator: determinism, the real payload shapes, and the conventions CONTRACTS.md promises dbt."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
import yaml

from sample_org import Organisation, generate
from sample_org.generator import OPS, YBIYRI
from tests.conftest import example
from tests.sample_org.conftest import END


def test_same_arguments_same_bytes_and_another_seed_other_data() -> None:
    # 120 days keep this quick; the full-size organisation is built the same way.
    same = [generate(n_services=20, days=120, seed=7, end=END).to_json() for _ in range(2)]
    assert same[0] == same[1]
    other = generate(n_services=20, days=120, seed=8, end=END)
    assert other.to_json() != same[0]
    assert other.github["acme/checkout"].commits[0]["sha"] not in same[0]


def test_generation_is_fast_and_sizes_scale() -> None:
    started = time.perf_counter()
    big = generate(n_services=20, days=365, seed=1, end=dt.date(2025, 1, 1))
    assert time.perf_counter() - started < 4  # ~1 s here; generous for slow CI machines
    small = generate(n_services=3, days=30, seed=1, end=dt.date(2025, 1, 1))
    assert len(small.services) == 3 and len(big.services) == 20
    assert sum(small.counts().values()) < sum(big.counts().values()) / 20
    assert generate(n_services=45, days=5, end=dt.date(2025, 1, 1)).service("checkout-2").jira_project == "CHK2"


def test_catalog_models_and_migrations(org: Organisation) -> None:
    first = Counter(s.operating_model[0][0] for s in org.services)
    assert first == {YBIYRI: 10, OPS: 10}
    moved = [s for s in org.services if len(s.operating_model) == 2]
    assert len(moved) >= 2
    for s in moved:
        (m0, _), (m1, d1) = s.operating_model
        assert (m0, m1) == (OPS, YBIYRI) and org.start + dt.timedelta(days=90) < d1 < org.end - dt.timedelta(days=90)
    assert len({s.pagerduty_service_id for s in org.services}) == 20
    assert len({s.jira_project for s in org.services}) == 20
    assert {s.availability_target for s in org.services} <= {99.0, 99.5, 99.9}


def test_config_yaml_matches_the_contract(org: Organisation) -> None:
    text = org.config_yaml("http://127.0.0.1:9999/")
    cfg = yaml.safe_load(text)
    assert "warehouse" not in cfg and cfg["timezone"] == "UTC"
    assert cfg["sources"]["github"] == {
        "api_url": "http://127.0.0.1:9999/github",
        "token": "env:SAMPLE_GITHUB_TOKEN",
    }
    assert cfg["sources"]["pagerduty"]["token"] == "env:SAMPLE_PAGERDUTY_TOKEN"
    jira = cfg["sources"]["jira"]
    assert (jira["api_url"], jira["user"], jira["token"]) == (
        "http://127.0.0.1:9999/jira", "env:SAMPLE_JIRA_USER", "env:SAMPLE_JIRA_TOKEN")  # fmt: skip
    assert jira["reviews"] == {"issue_type": "Post-incident review", "label": "postmortem"}
    assert jira["actions"] == {"label": "postmortem-action"} and jira["incident_link"]["field"] == "customfield_10042"
    checkout = next(s for s in cfg["services"] if s["name"] == "checkout")
    svc = org.service("checkout")
    assert checkout["github"] == {"repo": "acme/checkout", "environment": "production", "branch": "main"}
    assert checkout["pagerduty"] == {"service_id": svc.pagerduty_service_id}
    assert checkout["operating_model"] == [{"model": m, "from": d} for m, d in svc.operating_model]
    assert len(cfg["services"]) == 20


def test_config_for_a_day_reaches_pagerduty_back_to_the_start(org: Organisation) -> None:
    from connectors.pagerduty import PagerdutySettings

    # Served long after its end (as the benchmark's fixed end is): 730 days from now would miss the first incidents.
    today = org.end + dt.timedelta(days=800)
    pagerduty = yaml.safe_load(org.config_yaml("http://127.0.0.1:9999/", today=today))["sources"]["pagerduty"]
    assert pagerduty["history_days"] == (today - org.start).days + 1
    settings = PagerdutySettings(api_url=pagerduty["api_url"], history_days=pagerduty["history_days"])
    # A first sync starts `history_days` before now, at any time of `today`: on or before the first day.
    latest_now = dt.datetime.combine(today, dt.time.max, dt.UTC)
    assert (latest_now - dt.timedelta(days=settings.history_days)).date() <= org.start
    assert org.history_days_from(org.start - dt.timedelta(days=3)) == 1  # a history still to come: the least
    assert "history_days" not in org.config_yaml("http://127.0.0.1:9999/")  # without a day: the connector's default


def _keys(name: str, key: str = "value") -> set[str]:
    body = example(name, key)
    item = body[0] if isinstance(body, list) else body
    return set(item) - {"_elided"}


def test_payloads_have_the_real_shapes(org: Organisation) -> None:
    repo = org.github["acme/checkout"]
    commit_example = example("github/commits")[0]
    for item in repo.commits[:50] + [c for cs in list(repo.pull_commits.values())[:20] for c in cs]:
        assert set(commit_example) <= set(item)
        assert set(commit_example["commit"]) <= set(item["commit"])
    pull_example = example("github/pulls")[0]
    for pull in repo.pulls:
        assert _keys("github/pulls") <= set(pull)
        assert set(pull_example["head"]) <= set(pull["head"]) and set(pull["base"]) == set(pull["head"])
    assert all(_keys("github/deployments") <= set(d) for d in repo.deployments)
    assert all(_keys("github/deployment_statuses") <= set(s) for v in repo.statuses.values() for s in v)
    incident_keys = set(example("pagerduty/incidents")["incidents"][0])
    assert all(incident_keys <= set(i) for i in org.pagerduty_incidents)
    entry_keys = set(example("pagerduty/log_entries")["log_entries"][0])
    for e in org.pagerduty_log_entries:
        assert entry_keys - ({"event_details"} if e["type"] != "trigger_log_entry" else set()) <= set(e)
    issue = example("jira/search", "search_jql_value")["issues"][0]
    for i in org.jira_issues:
        assert set(issue) <= set(i) and set(issue["fields"]) - {"_elided"} <= set(i["fields"])


def test_ids_are_unique(org: Organisation) -> None:
    repos = org.github.values()
    for ids in (
        [d["id"] for r in repos for d in r.deployments],
        [s["id"] for r in repos for v in r.statuses.values() for s in v],
        [p["id"] for r in repos for p in r.pulls],
        [i["id"] for i in org.pagerduty_incidents] + [e["id"] for e in org.pagerduty_log_entries],
        [i["id"] for i in org.jira_issues],
        [i["key"] for i in org.jira_issues],
    ):
        assert len(ids) == len(set(ids))
    for r in repos:
        assert len({c["sha"] for c in r.commits}) == len(r.commits)
        assert len({p["number"] for p in r.pulls}) == len(r.pulls)


def test_merge_squash_rebase_and_direct_pushes_look_as_contracted(org: Organisation) -> None:
    seen = Counter()
    for repo in org.github.values():
        by_sha = {c["sha"]: c for c in repo.commits}
        dates = [c["commit"]["committer"]["date"] for c in repo.commits]
        assert dates == sorted(dates, reverse=True)  # git-log order, newest first
        from_prs = set()
        for pull in repo.pulls:
            branch = repo.pull_commits[pull["number"]]
            assert branch[-1]["sha"] == pull["head"]["sha"]
            if not pull["merged_at"]:
                assert pull["merge_commit_sha"] not in by_sha
                continue
            tip = by_sha[pull["merge_commit_sha"]]
            assert tip["commit"]["committer"]["date"] == pull["merged_at"]
            if len(tip["parents"]) == 2:  # merge commit: the branch is reachable through parent 2
                seen["merge"] += 1
                assert tip["parents"][1]["sha"] == branch[-1]["sha"]
                assert all(c["sha"] in by_sha for c in branch)
                from_prs.add(tip["sha"])
            elif tip["commit"]["message"].split("\n")[0].endswith(f"(#{pull['number']})"):
                seen["squash"] += 1  # squash: one new commit titled "<title> (#n)"; the branch stays off main
                assert len(tip["parents"]) == 1 and all(c["sha"] not in by_sha for c in branch)
                assert tip["commit"]["author"]["date"] == pull["merged_at"]
                from_prs.add(tip["sha"])
            else:  # rebase: the branch re-created on main, same author/date/message, committed at merge time
                seen["rebase"] += 1
                rebased, sha = [], tip["sha"]
                for _ in branch:
                    rebased.append(by_sha[sha])
                    sha = by_sha[sha]["parents"][0]["sha"]
                for new, old in zip(reversed(rebased), branch, strict=True):
                    assert new["sha"] != old["sha"] and old["sha"] not in by_sha
                    assert new["commit"]["author"] == old["commit"]["author"]
                    assert new["commit"]["message"] == old["commit"]["message"]
                    assert new["commit"]["committer"]["date"] == pull["merged_at"]
                    from_prs.add(new["sha"])
        # Walk the first-parent chain: everything on it came from a PR, or is a direct push, or is the root.
        sha = repo.commits[0]["sha"]
        while by_sha[sha]["parents"]:
            c = by_sha[sha]
            if sha not in from_prs:
                seen["direct"] += 1
                assert len(c["parents"]) == 1 and c["commit"]["committer"]["name"] != "GitHub"
                assert c["commit"]["author"]["date"] == c["commit"]["committer"]["date"]
            sha = c["parents"][0]["sha"]
    assert min(seen.values()) >= 20 and set(seen) == {"merge", "squash", "rebase", "direct"}


def test_deployments_statuses_and_retries(org: Organisation) -> None:
    retried = 0
    for repo in org.github.values():
        mainline = {c["sha"] for c in repo.commits}
        last_failed_sha = None
        for d in reversed(repo.deployments):  # oldest first
            assert d["sha"] in mainline and d["environment"] in ("production", "staging")
            states = [s["state"] for s in reversed(repo.statuses[d["id"]])]
            assert states in (["queued", "in_progress", "success"], ["queued", "in_progress", "failure"]) or (
                states and d == repo.deployments[0]
            )  # the newest may still be running at the end
            times = [s["created_at"] for s in reversed(repo.statuses[d["id"]])]
            assert times == sorted(times) and times[0] == d["created_at"]
            if d["environment"] == "production":
                if states[-1] == "success" and d["sha"] == last_failed_sha:
                    retried += 1
                last_failed_sha = d["sha"] if states[-1] == "failure" else None
    assert retried >= 10
    envs = Counter(d["environment"] for r in org.github.values() for d in r.deployments)
    assert 0.1 < envs["staging"] / envs["production"] < 0.3


def test_incidents_log_entries_and_change_failures(org: Organisation) -> None:
    entries: dict[str, dict[str, str]] = {}
    for e in org.pagerduty_log_entries:
        entries.setdefault(e["incident"]["id"], {})[e["type"]] = e["created_at"]
    statuses = Counter(i["status"] for i in org.pagerduty_incidents)
    # about one a month per service, fewer where fixes hold (You Build It You Run It), clusters of repeats elsewhere.
    # An incident is open only when the end falls inside it: none is made up at the end, since a history one day
    # longer would lose it (see test_sample_org_history_growth.py).
    assert statuses["resolved"] > 200 and statuses["triggered"] + statuses["acknowledged"] <= 10
    for i in org.pagerduty_incidents:
        assert i["html_url"].endswith("/" + i["id"])
        assert i["urgency"] in ("high", "low")
        assert i["priority"] is None or i["priority"]["summary"] in ("P1", "P2", "P3", "P4", "P5")
        log = entries[i["id"]]
        assert log["trigger_log_entry"] == i["created_at"]
        if i["status"] == "resolved":
            assert log["resolve_log_entry"] == i["last_status_change_at"] == i["resolved_at"] >= i["created_at"]
        else:
            assert "resolve_log_entry" not in log and i["created_at"] < org.end.isoformat()
        if i["status"] == "acknowledged":
            assert "acknowledge_log_entry" in log
    # A share of incidents start within 24 hours after a successful production deployment of their service.
    service_of = {s.pagerduty_service_id: s for s in org.services}
    attributed = 0
    for i in org.pagerduty_incidents:
        repo = org.github[service_of[i["service"]["id"]].github_repo]
        done = [
            s["created_at"] for d in repo.deployments if d["environment"] == "production"
            for s in repo.statuses[d["id"]] if s["state"] == "success"
        ]  # fmt: skip
        t = dt.datetime.fromisoformat(i["created_at"])
        attributed += any(dt.timedelta(0) < t - dt.datetime.fromisoformat(x) < dt.timedelta(hours=24) for x in done)
    assert 0.2 < attributed / len(org.pagerduty_incidents) < 0.9


def test_reviews_and_actions_link_as_contracted(org: Organisation) -> None:
    incidents = {i["html_url"]: i for i in org.pagerduty_incidents}
    reviews = {i["key"]: i for i in org.jira_issues if i["fields"]["labels"] == ["postmortem"]}
    actions = [i for i in org.jira_issues if i["fields"]["labels"] == ["postmortem-action"]]
    assert len(reviews) + len(actions) == len(org.jira_issues)
    for r in reviews.values():
        assert r["fields"]["issuetype"]["name"] == "Post-incident review"
        incident = incidents[r["fields"]["customfield_10042"]]
        assert incident["status"] == "resolved" and r["fields"]["created"] > incident["resolved_at"].replace("Z", "")
        assert r["key"].startswith(r["fields"]["project"]["key"] + "-")
    for a in actions:
        (link,) = a["fields"]["issuelinks"]
        assert link["type"]["name"] == "Relates" and link["outwardIssue"]["key"] in reviews
        assert a["fields"]["customfield_10042"] is None
        if a["fields"]["resolutiondate"]:
            assert a["fields"]["resolutiondate"] > a["fields"]["created"]
            assert a["fields"]["status"]["statusCategory"]["key"] == "done"
    stamp = reviews[next(iter(reviews))]["fields"]["created"]
    assert len(stamp) == 28 and stamp.endswith(".000+0000")


@pytest.mark.parametrize(("n", "days"), [(1, 7), (2, 30), (5, 100)])
def test_small_organisations_are_consistent(n: int, days: int) -> None:
    small = generate(n_services=n, days=days, seed=3, end=dt.date(2025, 1, 1))
    start = (dt.date(2025, 1, 1) - dt.timedelta(days=days)).isoformat()
    for repo in small.github.values():
        stamps = [d["created_at"] for d in repo.deployments] + [p["created_at"] for p in repo.pulls]
        assert all(start <= s < "2025-01-01" for s in stamps)
    assert all(i["created_at"] < "2025-01-01" for i in small.pagerduty_incidents)
