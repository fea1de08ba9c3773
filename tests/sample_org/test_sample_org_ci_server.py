"""The loopback server's GitLab, GitHub Actions and Jenkins routes: real paging, filters, limits and errors."""

from __future__ import annotations

import base64
import copy
import dataclasses
from collections.abc import Iterator

import pytest
import requests

from sample_org import Organisation, SampleServer, generate
from sample_org.generator import ActionsRepo, JenkinsJob
from sample_org.server import parse_tree
from tests.sample_org.conftest import END
from tests.sample_org.history import epoch

TOKENS = {"github": "gh-secret", "gitlab": "gl-secret", "jenkins_user": "robot", "jenkins": "jk-secret"}
GH = {"Authorization": "Bearer gh-secret"}
GL = {"PRIVATE-TOKEN": "gl-secret"}
JK = {"Authorization": "Basic " + base64.b64encode(b"robot:jk-secret").decode()}
BUILDS_TREE = (
    "allBuilds[number,url,result,building,timestamp,duration,"
    "actions[_class,lastBuiltRevision[SHA1,branch[name]],remoteUrls]]{%d,%d}"
)


@pytest.fixture(scope="module")
def mix() -> Organisation:
    return generate(n_services=20, days=120, seed=7, end=END, source_mix=True)


@pytest.fixture(scope="module")
def server(mix: Organisation) -> Iterator[SampleServer]:
    with SampleServer(mix, tokens=TOKENS) as s:
        yield s


def _of(mix: Organisation, source: str) -> list[str]:
    return sorted(s.name for s in mix.services if s.deployment_source == source)


def walk_gitlab(session: requests.Session, url: str, params: dict) -> tuple[list, list[requests.Response]]:
    """Follow `X-Next-Page` until it is empty, as GitLab clients do."""
    records, responses = [], []
    params = dict(params)
    while True:
        r = session.get(url, params=params, headers=GL)
        assert r.status_code == 200, r.text
        records += r.json()
        responses.append(r)
        if not r.headers["X-Next-Page"]:
            return records, responses
        params["page"] = r.headers["X-Next-Page"]
        assert len(responses) < 500


# --- GitLab -----------------------------------------------------------------------------------------------------


def test_gitlab_merge_requests_page_on_x_next_page(
    server: SampleServer, session: requests.Session, mix: Organisation
) -> None:
    project = max(mix.gitlab.values(), key=lambda p: len(p.commits))
    url = f"{server.url}/gitlab/api/v4/projects/{project.path.replace('/', '%2F')}/merge_requests"
    since = project.merge_requests[len(project.merge_requests) // 2]["updated_at"]
    params = {
        "state": "merged",
        "target_branch": "main",
        "order_by": "updated_at",
        "sort": "asc",
        "updated_after": since,
        "per_page": 7,
    }
    mrs, responses = walk_gitlab(session, url, params)
    expected = sorted(
        (mr for mr in project.merge_requests if mr["state"] == "merged" and mr["updated_at"] >= since),
        key=lambda mr: (mr["updated_at"], mr["id"]),
    )
    assert [mr["iid"] for mr in mrs] == [mr["iid"] for mr in expected] and len(responses) > 2
    assert since in {mr["updated_at"] for mr in mrs}  # updated_after is "on or after"
    first, last = responses[0].headers, responses[-1].headers
    assert (first["X-Page"], first["X-Per-Page"], first["X-Prev-Page"]) == ("1", "7", "")
    assert first["X-Total"] == str(len(expected)) and first["X-Total-Pages"] == str(len(responses))
    assert responses[0].links["next"]["url"].startswith(f"{server.url}/gitlab/api/v4/projects/acme%2F")
    assert last["X-Next-Page"] == "" and "next" not in responses[-1].links and last["X-Prev-Page"]
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-ResetTime"} <= set(first)
    assert int(first["RateLimit-Remaining"]) < int(first["RateLimit-Limit"])
    # Defaults: 20 per page, 100 at most; every state, newest created first.
    default = session.get(url, headers=GL)
    assert len(default.json()) == 20 and default.json()[0]["iid"] == project.merge_requests[-1]["iid"]
    commits = url.replace("/merge_requests", "/repository/commits")
    assert len(project.commits) > 100 and len(session.get(commits, params={"per_page": 500}, headers=GL).json()) == 100
    numeric = session.get(f"{server.url}/gitlab/api/v4/projects/{project.id}/merge_requests", headers=GL)
    assert numeric.json() == default.json()


def test_gitlab_commits_and_merge_request_commits(
    server: SampleServer, session: requests.Session, mix: Organisation
) -> None:
    path = f"acme/{_of(mix, 'gitlab')[1]}"
    project, api = mix.gitlab[path], f"{server.url}/gitlab/api/v4/projects/{path.replace('/', '%2F')}"
    since = "2025-04-01T00:00:00Z"
    commits, responses = walk_gitlab(
        session, f"{api}/repository/commits", {"ref_name": "main", "since": since, "per_page": 10}
    )
    assert [c["id"] for c in commits] == [
        c["id"] for c in project.commits if epoch(c["committed_date"]) >= epoch(since)
    ]
    assert "X-Total" not in responses[0].headers and "last" not in responses[0].links  # as GitLab's commits API
    # A range lists what the newer commit adds to the older one.
    # Distinct shas, oldest first: a nightly deployment redeploys the head when nothing was merged that day.
    deployed = list(dict.fromkeys(d["sha"] for d in project.deployments if d["environment"]["name"] == "production"))
    old, new = deployed[-3], deployed[-1]
    shipped, _ = walk_gitlab(session, f"{api}/repository/commits", {"ref_name": f"{old}..{new}", "per_page": 100})
    shas = {c["id"] for c in shipped}
    assert new in shas and old not in shas and shipped and all(old not in c["parent_ids"][1:] for c in shipped)
    first_parent, _ = walk_gitlab(session, f"{api}/repository/commits", {"first_parent": "true", "per_page": 100})
    assert all(len(c["parent_ids"]) <= 2 for c in first_parent) and len(first_parent) < len(project.commits)
    mr = next(mr for mr in reversed(project.merge_requests) if len(project.merge_request_commits[mr["iid"]]) > 2)
    got, _ = walk_gitlab(session, f"{api}/merge_requests/{mr['iid']}/commits", {"per_page": 2})
    assert got == project.merge_request_commits[mr["iid"]]
    assert session.get(f"{api}/merge_requests/{mr['iid']}", headers=GL).json() == mr
    missing = session.get(f"{api}/merge_requests/999999/commits", headers=GL)
    assert missing.status_code == 404 and missing.json() == {"message": "404 Not found"}
    unknown = session.get(f"{api}/repository/commits", params={"ref_name": "f" * 40}, headers=GL)
    assert unknown.status_code == 404 and "message" in unknown.json()


def test_gitlab_deployments_filters_and_pairing(
    server: SampleServer, session: requests.Session, mix: Organisation
) -> None:
    path = f"acme/{_of(mix, 'gitlab')[2]}"
    project, api = mix.gitlab[path], f"{server.url}/gitlab/api/v4/projects/{path.replace('/', '%2F')}"
    production = [d for d in project.deployments if d["environment"]["name"] == "production"]
    since = production[len(production) // 2]["updated_at"]
    params = {
        "environment": "production",
        "order_by": "updated_at",
        "sort": "asc",
        "updated_after": since,
        "per_page": 5,
    }
    got, _ = walk_gitlab(session, f"{api}/deployments", params)
    expected = sorted((d for d in production if d["updated_at"] >= since), key=lambda d: (d["updated_at"], d["id"]))
    assert [d["id"] for d in got] == [d["id"] for d in expected] and got[0]["updated_at"] == since
    everything, _ = walk_gitlab(session, f"{api}/deployments", {"per_page": 100})
    assert everything == project.deployments  # default: id ascending, every environment
    unpaired = session.get(f"{api}/deployments", params={"updated_after": since}, headers=GL)
    assert unpaired.status_code == 400 and "must be paired" in unpaired.json()["message"]
    finished = {"finished_after": since, "order_by": "finished_at", "status": "success"}
    assert session.get(f"{api}/deployments", params=finished, headers=GL).status_code == 200
    assert session.get(f"{api}/deployments", params={**finished, "status": "failed"}, headers=GL).status_code == 400
    bad_order = session.get(f"{api}/deployments", params={"order_by": "sha"}, headers=GL)
    assert bad_order.status_code == 400 and bad_order.json() == {"error": "order_by does not have a valid value"}
    one = session.get(f"{api}/deployments/{production[0]['id']}", headers=GL)
    assert one.json() == production[0]


def test_gitlab_authentication_and_errors(server: SampleServer, session: requests.Session, mix: Organisation) -> None:
    url = f"{server.url}/gitlab/api/v4/projects/acme%2F{_of(mix, 'gitlab')[0]}/merge_requests"
    for bad in ({}, {"PRIVATE-TOKEN": "wrong"}, {"Authorization": "Bearer wrong"}):
        r = session.get(url, headers=bad)
        assert r.status_code == 401 and r.json() == {"message": "401 Unauthorized"}
    assert session.get(url, headers={"Authorization": "Bearer gl-secret"}).status_code == 200
    on_github = f"{server.url}/gitlab/api/v4/projects/acme%2F{_of(mix, 'github')[0]}/merge_requests"
    r = session.get(on_github, headers=GL)
    assert r.status_code == 404 and r.json() == {"message": "404 Project Not Found"}
    r = session.get(f"{server.url}/gitlab/api/v4/projects/acme/x/merge_requests", headers=GL)  # path not encoded
    assert r.status_code == 404 and r.json() == {"error": "404 Not Found"}
    r = session.get(url, params={"order_by": "sha"}, headers=GL)
    assert r.status_code == 400 and "error" in r.json()


# --- GitHub Actions -------------------------------------------------------------------------------------------------


def walk_runs(session: requests.Session, url: str, params: dict) -> tuple[list, list[requests.Response]]:
    records, responses = [], []
    while url:
        r = session.get(url, params=params, headers=GH)
        assert r.status_code == 200, r.text
        records += r.json()["workflow_runs"]
        responses.append(r)
        url, params = r.links.get("next", {}).get("url"), None
    return records, responses


def test_actions_runs_listing_windows_and_attempts(
    server: SampleServer, session: requests.Session, mix: Organisation
) -> None:
    repo = next(r for r in mix.github_actions.values() if sum(len(run) > 1 for run in r.runs) >= 1)
    base = f"{server.url}/github/repos/{repo.full_name}/actions"
    latest = [run[-1] for run in repo.runs]
    window = ("2025-03-01T00:00:00Z", "2025-04-30T23:59:59Z")
    params = {"branch": "main", "created": f"{window[0]}..{window[1]}", "per_page": 4}
    runs, responses = walk_runs(session, f"{base}/workflows/deploy.yml/runs", params)
    expected = [r for r in latest if window[0] <= r["created_at"] <= window[1]]
    assert runs == expected and len(responses) > 1
    assert {r.json()["total_count"] for r in responses} == {len(expected)}
    # The other forms of the created syntax split the same runs.
    split = "2025-04-01T00:00:00Z"
    before = session.get(
        f"{base}/workflows/deploy.yml/runs", params={"created": f"<{split}", "per_page": 100}, headers=GH
    ).json()
    after = session.get(
        f"{base}/workflows/deploy.yml/runs", params={"created": f">={split}", "per_page": 100}, headers=GH
    ).json()
    assert before["total_count"] + after["total_count"] == len(latest)
    assert all(r["created_at"] < split for r in before["workflow_runs"])
    day = session.get(f"{base}/runs", params={"created": expected[0]["created_at"][:10]}, headers=GH).json()
    assert expected[0] in day["workflow_runs"]
    by_id = session.get(f"{base}/workflows/{repo.workflow['id']}/runs", params={"per_page": 1}, headers=GH).json()
    assert by_id["total_count"] == len(latest) and by_id["workflow_runs"] == latest[:1]
    # A re-run: listed as its latest attempt; the earlier one under attempts/1.
    rerun = next(run for run in repo.runs if len(run) == 2)
    run_url = f"{base}/runs/{rerun[0]['id']}"
    assert session.get(run_url, headers=GH).json() == rerun[1]
    assert session.get(f"{run_url}/attempts/1", headers=GH).json() == rerun[0]
    assert session.get(f"{run_url}/attempts/3", headers=GH).status_code == 404
    jobs = session.get(f"{run_url}/attempts/1/jobs", headers=GH).json()
    assert jobs["total_count"] == 1 and jobs["jobs"][0]["conclusion"] == "failure"
    every = session.get(f"{run_url}/jobs", params={"filter": "all"}, headers=GH).json()
    assert [j["run_attempt"] for j in every["jobs"]] == [1, 2]
    assert session.get(f"{base}/workflows", headers=GH).json()["workflows"] == [repo.workflow]
    assert session.get(f"{base}/workflows/other.yml/runs", headers=GH).status_code == 404
    github_only = f"{server.url}/github/repos/acme/{_of(mix, 'github')[0]}/actions"
    assert session.get(f"{github_only}/workflows", headers=GH).json() == {"total_count": 0, "workflows": []}
    assert session.get(f"{github_only}/workflows/deploy.yml/runs", headers=GH).status_code == 404
    assert session.get(f"{base}/runs", params={"created": "last week"}, headers=GH).status_code == 422
    assert session.get(f"{base}/runs", headers={}).status_code == 401


def test_actions_search_cap_answers_422_past_1000(mix: Organisation, session: requests.Session) -> None:
    repo = next(iter(mix.github_actions.values()))
    template = repo.runs[-1][0]
    runs = []
    for i in range(2500):  # one run every ten minutes, newest first
        run = dict(
            template,
            id=template["id"] + 10_000 + i,
            run_number=i + 1,
            created_at=f"2025-01-{1 + i // 144:02d}T{i % 144 // 6:02d}:{i % 6 * 10:02d}:00Z",
        )
        runs.append([run])
    big = ActionsRepo(repo.full_name, repo.workflow, runs[::-1], {})
    org = dataclasses.replace(mix, github_actions={repo.full_name: big})
    with SampleServer(org) as server:
        url = f"{server.url}/github/repos/{repo.full_name}/actions/workflows/deploy.yml/runs"
        window = {"created": "2025-01-01T00:00:00Z..2025-01-31T23:59:59Z"}
        probe = session.get(url, params={**window, "per_page": 1}).json()
        assert probe["total_count"] == 2500 and len(probe["workflow_runs"]) == 1
        tenth = session.get(url, params={**window, "per_page": 100, "page": 10})
        assert tenth.status_code == 200 and len(tenth.json()["workflow_runs"]) == 100
        assert "next" not in tenth.links  # the last page that can be reached
        beyond = session.get(url, params={**window, "per_page": 100, "page": 11})
        assert beyond.status_code == 422
        assert beyond.json()["message"] == "Only the first 1000 search results are available"
        straddling = session.get(url, params={**window, "per_page": 30, "page": 34}).json()
        assert straddling["total_count"] == 2500 and len(straddling["workflow_runs"]) == 10
        assert session.get(url, params={"branch": "main", "per_page": 100, "page": 11}).status_code == 422
        # Without a search filter the listing pages through everything.
        unfiltered = session.get(url, params={"per_page": 100, "page": 25}).json()
        assert len(unfiltered["workflow_runs"]) == 100 and unfiltered["total_count"] == 2500
        # Halving the window until each holds fewer than 1,000 runs reaches them all.
        day = session.get(url, params={"created": "2025-01-05T00:00:00Z..2025-01-05T23:59:59Z"}).json()
        assert day["total_count"] == 144


# --- Jenkins --------------------------------------------------------------------------------------------------------


def test_jenkins_builds_in_ranges_newest_first(
    server: SampleServer, session: requests.Session, mix: Organisation
) -> None:
    job = mix.jenkins[f"deploy/{_of(mix, 'jenkins')[0]}-production"]
    url = f"{server.url}/jenkins/job/deploy/job/{job.full_name.split('/')[1]}/api/json"
    seen, start = [], 0
    while True:
        r = session.get(url, params={"tree": BUILDS_TREE % (start, start + 25)}, headers=JK)
        assert r.status_code == 200 and r.headers["X-Jenkins"]
        body = r.json()
        assert set(body) == {"_class", "allBuilds"} and body["_class"].endswith("WorkflowJob")
        if not body["allBuilds"]:
            break
        seen += body["allBuilds"]
        start += 25
    assert [b["number"] for b in seen] == [b["number"] for b in job.builds]
    for got, build in zip(seen, job.builds, strict=True):
        assert set(got) == {"_class", "number", "url", "result", "building", "timestamp", "duration", "actions"}
        data = [a for a in got["actions"] if a.get("_class", "").endswith("BuildData")]
        stored = [a for a in build["actions"] if a.get("_class", "").endswith("BuildData")]
        assert [(d["lastBuiltRevision"]["SHA1"], d["remoteUrls"]) for d in data] == [
            (d["lastBuiltRevision"]["SHA1"], d["remoteUrls"]) for d in stored
        ]
        assert data[0]["lastBuiltRevision"]["branch"] == [{"name": "refs/remotes/origin/main"}]
        assert {} in got["actions"] and len(got["actions"]) == len(build["actions"])  # positional, as Jenkins
    one = session.get(url, params={"tree": "allBuilds[number]{1}"}, headers=JK).json()
    assert one["allBuilds"] == [{"_class": job.builds[1]["_class"], "number": job.builds[1]["number"]}]
    tail = session.get(url, params={"tree": f"allBuilds[number]{{{len(job.builds) - 2},}}"}, headers=JK).json()
    assert [b["number"] for b in tail["allBuilds"]] == [b["number"] for b in job.builds[-2:]]
    plain = session.get(url, headers=JK).json()  # default depth: the newest 100 builds by reference
    assert "allBuilds" not in plain and set(plain["builds"][0]) == {"_class", "number", "url"}
    assert plain["lastBuild"]["number"] == job.builds[0]["number"] and len(plain["builds"]) <= 100
    completed = [b["number"] for b in job.builds if not b["building"]]
    assert plain["lastCompletedBuild"]["number"] == completed[0]
    build = session.get(url.replace("/api/json", f"/{job.builds[0]['number']}/api/json"), headers=JK).json()
    assert build == job.builds[0]
    assert session.get(url, params={"tree": "allBuilds[number"}, headers=JK).status_code == 400


def test_jenkins_answers_403_to_bad_credentials(
    server: SampleServer, session: requests.Session, mix: Organisation
) -> None:
    url = f"{server.url}/jenkins/job/deploy/job/{_of(mix, 'jenkins')[0]}-production/api/json"
    for bad in ({}, {"Authorization": "Basic " + base64.b64encode(b"robot:wrong").decode()}, GH):
        r = session.get(url, headers=bad)
        assert r.status_code == 403 and r.json()["message"] == "Forbidden"
    missing = session.get(f"{server.url}/jenkins/job/deploy/job/nothing/api/json", headers=JK)
    assert missing.status_code == 404
    root = session.get(f"{server.url}/jenkins/api/json", params={"tree": "jobs[name]"}, headers=JK).json()
    assert root["jobs"] == [{"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "deploy"}]


def test_jenkins_nested_folders_and_multibranch_branch_names(mix: Organisation, session: requests.Session) -> None:
    template = next(iter(mix.jenkins.values()))
    jobs = {
        "checkout/main": JenkinsJob(
            "checkout/main",
            "https://jenkins.acme.example/job/checkout/job/main/",
            copy.deepcopy(template.builds[:3]),
            multibranch=True,
        ),
        "checkout/feature%2Fone": JenkinsJob(
            "checkout/feature%2Fone",
            "https://jenkins.acme.example/job/checkout/job/feature%252Fone/",
            copy.deepcopy(template.builds[3:5]),
            multibranch=True,
        ),
        "platform/payments/deploy-prod": JenkinsJob(
            "platform/payments/deploy-prod",
            "https://jenkins.acme.example/job/platform/job/payments/job/deploy-prod/",
            copy.deepcopy(template.builds),
        ),
    }
    org = dataclasses.replace(mix, jenkins=jobs)
    with SampleServer(org, tokens=TOKENS) as server:
        base = f"{server.url}/jenkins"
        branch = session.get(
            f"{base}/job/checkout/job/feature%252Fone/api/json", params={"tree": "allBuilds[number]{0,10}"}, headers=JK
        )
        assert branch.status_code == 200
        assert [b["number"] for b in branch.json()["allBuilds"]] == [b["number"] for b in template.builds[3:5]]
        project = session.get(f"{base}/job/checkout/api/json", headers=JK).json()
        assert project["_class"] == "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
        assert {j["name"]: j["url"] for j in project["jobs"]} == {
            "feature%2Fone": "https://jenkins.acme.example/job/checkout/job/feature%252Fone/",
            "main": "https://jenkins.acme.example/job/checkout/job/main/",
        }
        nested = session.get(
            f"{base}/job/platform/job/payments/job/deploy-prod/api/json",
            params={"tree": "allBuilds[number]"},
            headers=JK,
        ).json()
        assert len(nested["allBuilds"]) == len(template.builds)
        folder = session.get(f"{base}/job/platform/job/payments/api/json", headers=JK).json()
        assert folder["_class"] == "com.cloudbees.hudson.plugins.folder.Folder" and folder["fullName"] == (
            "platform/payments"
        )
        assert session.get(f"{base}/job/checkout/job/feature%2Fone/api/json", headers=JK).status_code == 404


def test_tree_parser() -> None:
    tree = parse_tree("allBuilds[number,actions[_class,lastBuiltRevision[SHA1]]]{0,100},name")
    (builds, span), (name, _) = tree["allBuilds"], tree["name"]
    assert span == (0, 100) and name is None and set(builds) == {"number", "actions"}
    assert parse_tree("builds[number]{5}")["builds"][1] == (5, 6)
    assert parse_tree("builds{,3}")["builds"] == (None, (None, 3))
