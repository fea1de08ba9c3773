"""GitLab, GitHub Actions and Jenkins renderings: the same history through every source, the real shapes, and the
default organisation left byte for byte as it was."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter

import pytest
import yaml

from sample_org import Organisation, generate, sample_tokens, token_environment
from sample_org.generator import DEPLOYMENT_SOURCES, OPS, TOKEN_VARIABLES, YBIYRI
from tests.conftest import example
from tests.sample_org.conftest import END
from tests.sample_org.history import epoch, git_graph, merged_changes, production_attempts

# sha256 of generate(n_services=20, days=365, seed=7, end=2025-06-01).to_json() and of its config_yaml, computed on
# commit 07d1949, before the CI renderings existed: the options must leave the default organisation alone.
# Recomputed when the learning behaviour (incident spacing, repeats, reviews, actions) reshaped the history,
# when the catalog gained its `teams` section (who gets paged), and when the history became stable under one more
# day (every draw from a generator keyed by what it is for, plans drawn past the end, ids from per-service blocks,
# migrations placed independently of the exact length: the YAML's migration dates moved with them), and when the
# catalog gained its costs, currency and Opsgenie teams (issue 14).
DEFAULT_JSON_SHA256 = "573b435a2a32231b445d35a80d768dc18ab8c5768e84fb5e86e07efcbed2455e"
DEFAULT_YAML_SHA256 = "e83b853c59e7f713610c9c4bb1a6157fed8cedeace6bad5874dc0d3d4876635a"
OPSGENIE_JSON_SHA256 = "f61a12276215f62c668ef3ecf2c464af370ce6634be03f24887333d92c71b775"
SIZE = {"n_services": 20, "days": 120, "seed": 7, "end": END}


@pytest.fixture(scope="module")
def through() -> dict[str, Organisation]:
    """The same 20-service organisation rendered through each deployment source."""
    return {source: generate(**SIZE, deployment_source=source) for source in DEPLOYMENT_SOURCES}


@pytest.fixture(scope="module")
def mix() -> Organisation:
    return generate(**SIZE, source_mix=True)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _keys(name: str, key: str = "value") -> set[str]:
    body = example(name, key)
    item = body[0] if isinstance(body, list) else body
    return set(item) - {"_elided"}


def test_default_organisation_is_byte_identical_to_before_the_ci_renderings(org: Organisation) -> None:
    text = org.to_json()
    assert _sha256(text) == DEFAULT_JSON_SHA256
    assert _sha256(org.config_yaml("http://127.0.0.1:9999")) == DEFAULT_YAML_SHA256
    with_opsgenie = generate(n_services=6, days=200, seed=5, end=END, opsgenie_services=2)
    assert _sha256(with_opsgenie.to_json()) == OPSGENIE_JSON_SHA256
    assert '"gitlab"' not in text and '"jenkins"' not in text and '"deployment_source"' not in text
    assert not any(key.split(".")[0] in ("gitlab", "github_actions", "jenkins") for key in org.counts())


@pytest.mark.parametrize("options", [{"source_mix": True}, *({"deployment_source": s} for s in DEPLOYMENT_SOURCES)])
def test_same_options_same_bytes(options: dict) -> None:
    size = {"n_services": 6, "days": 60, "seed": 11, "end": END}
    first, second = (generate(**size, **options).to_json() for _ in range(2))
    assert first == second
    assert first != generate(**size).to_json()


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="deployment_source"):
        generate(n_services=2, days=5, end=END, deployment_source="circleci")
    with pytest.raises(ValueError, match="exclude"):
        generate(n_services=2, days=5, end=END, source_mix=True, deployment_source="gitlab")


def test_every_rendering_shows_the_same_history(through: dict[str, Organisation], mix: Organisation) -> None:
    reference = through["github"]
    attempts, graph, changes = production_attempts(reference), git_graph(reference), merged_changes(reference)
    outcomes = Counter(outcome for *_, outcome in attempts)
    assert outcomes["success"] > 300 and outcomes["failure"] > 20 and outcomes["running"] >= 3
    for source, rendered in [*through.items(), ("mix", mix)]:
        assert production_attempts(rendered) == attempts, source
        assert git_graph(rendered) == graph, source
        assert merged_changes(rendered) == changes, source
        # Incidents and reviews never depend on the rendering.
        assert rendered.pagerduty_incidents == reference.pagerduty_incidents
        assert rendered.jira_issues == reference.jira_issues


def test_renderings_leave_the_shared_random_streams_alone(mix: Organisation) -> None:
    # Everything the default organisation has is still there, identical; only the nightly deployments of a few
    # services are added, the last still running at the end (and, of course, the services that moved lose their
    # GitHub deployments or repository).
    plain = generate(**SIZE)
    assert mix.pagerduty_log_entries == plain.pagerduty_log_entries and mix.jira_issues == plain.jira_issues
    end = plain.end.isoformat()
    for s in mix.services:
        before, after = plain.github[s.github_repo], mix.github.get(s.github_repo)
        if s.deployment_source == "gitlab":
            assert after is None
            continue
        assert (after.pulls, after.pull_commits, after.commits) == (before.pulls, before.pull_commits, before.commits)
        if s.deployment_source == "github":
            added = [d for d in after.deployments if d not in before.deployments]
            assert [d for d in after.deployments if d not in added] == before.deployments
            assert all("T23:" in d["created_at"] and d["created_at"] < end for d in added)
            for d in added:
                states = [x["state"] for x in after.statuses[d["id"]]]
                running = d is after.deployments[0] and states in (["in_progress", "queued"], ["queued"])
                assert states == ["success", "in_progress", "queued"] or running
        else:
            assert after.deployments == [] and after.statuses == {}


def test_source_mix_spreads_both_models_over_every_source(mix: Organisation) -> None:
    by_source: dict[str, list] = {}
    for s in mix.services:
        by_source.setdefault(s.deployment_source, []).append(s)
    assert set(by_source) == set(DEPLOYMENT_SOURCES)
    for source, services in by_source.items():
        assert len(services) >= 2 and {s.operating_model[0][0] for s in services} == {YBIYRI, OPS}, source
    assert len(by_source["github"]) >= len(mix.services) // 2
    assert set(mix.gitlab) == {s.github_repo for s in by_source["gitlab"]}
    assert set(mix.github_actions) == {s.github_repo for s in by_source["github_actions"]}
    assert set(mix.jenkins) == {s.jenkins_job for s in by_source["jenkins"]}
    assert {s.github_repo for s in mix.services if s.deployment_source != "gitlab"} == set(mix.github)
    named = [s.actions_job for s in by_source["github_actions"]]
    assert "Deploy to production" in named and None in named
    # A few Jenkins builds are still running at the end.
    assert any(b["building"] for job in mix.jenkins.values() for b in job.builds)


def test_gitlab_shapes(through: dict[str, Organisation]) -> None:
    projects = through["gitlab"].gitlab.values()
    mr_keys, commit_keys = _keys("gitlab/merge_requests"), _keys("gitlab/commits")
    mr_commit_keys = _keys("gitlab/merge_request_commits")
    deployment = example("gitlab/deployments")[0]
    for p in projects:
        assert all(mr_keys <= set(mr) for mr in p.merge_requests)
        assert all(commit_keys <= set(c) for c in p.commits)
        assert all(
            mr_commit_keys <= set(c) and "parent_ids" not in c for v in p.merge_request_commits.values() for c in v
        )
        for d in p.deployments:
            assert set(deployment) <= set(d) and set(deployment["environment"]) <= set(d["environment"])
            assert set(deployment["deployable"]) - {"user"} <= set(d["deployable"])
            assert set(deployment["deployable"]["pipeline"]) <= set(d["deployable"]["pipeline"])
            assert set(deployment["user"]) <= set(d["user"])
            assert d["deployable"]["commit"]["id"] == d["sha"]
    # Commit times keep the committer's offset, like GitLab's; several offsets appear.
    offsets = {c["committed_date"][-6:] for p in projects for c in p.commits}
    assert len(offsets) > 3 and all(len(c["committed_date"]) == 29 for p in projects for c in p.commits)


def test_gitlab_merge_methods_follow_the_github_strategies(through: dict[str, Organisation]) -> None:
    seen = Counter()
    for path, p in through["gitlab"].gitlab.items():
        github = through["github"].github[path]
        pulls = {pr["number"]: pr for pr in github.pulls}
        by_sha = {c["id"]: c for c in p.commits}
        for mr in p.merge_requests:
            pull = pulls[mr["iid"]]
            assert (mr["created_at"][:19], mr["title"]) == (pull["created_at"][:19], pull["title"])
            commits = p.merge_request_commits[mr["iid"]]
            if mr["state"] != "merged":
                assert mr["state"] == ("opened" if pull["state"] == "open" else "closed")
                continue
            if mr["merge_commit_sha"]:  # a GitHub merge commit: GitLab's merge commit, branch through parent 2
                seen["merge"] += 1
                merge = by_sha[mr["merge_commit_sha"]]
                assert merge["parent_ids"][1] == commits[0]["id"] == mr["sha"] and not mr["squash"]
                assert merge["message"].startswith("Merge branch ") and f"!{mr['iid']}" in merge["message"]
            elif mr["squash_commit_sha"]:  # a GitHub squash: the squash commit on main, the branch off it
                seen["squash"] += 1
                assert mr["squash"] and mr["squash_commit_sha"] == pull["merge_commit_sha"]
                assert len(by_sha[mr["squash_commit_sha"]]["parent_ids"]) == 1
                assert not any(c["id"] in by_sha for c in commits)
            else:  # a GitHub rebase: fast-forward onto the rebased commits, committed when merged
                seen["fast-forward"] += 1
                assert mr["sha"] == pull["merge_commit_sha"] == commits[0]["id"]
                assert all(c["id"] in by_sha and epoch(c["committed_date"]) == epoch(mr["merged_at"]) for c in commits)
            assert (
                by_sha[mr["merge_commit_sha"] or mr["squash_commit_sha"] or mr["sha"]]["committer_name"]
                == (mr["merge_user"]["name"])
            )
    assert min(seen.values()) >= 20 and len(seen) == 3


def test_gitlab_deployments_share_a_pipeline_with_their_retry(through: dict[str, Organisation]) -> None:
    envs, retried = Counter(), 0
    for p in through["gitlab"].gitlab.values():
        assert [d["iid"] for d in p.deployments] == list(range(1, len(p.deployments) + 1))
        assert [d["id"] for d in p.deployments] == sorted(d["id"] for d in p.deployments)
        by_pipeline: dict[int, list[dict]] = {}
        for d in p.deployments:
            envs[d["environment"]["name"]] += 1
            by_pipeline.setdefault(d["deployable"]["pipeline"]["id"], []).append(d)
            if d["status"] in ("success", "failed"):
                assert d["updated_at"] == d["deployable"]["finished_at"]
        for group in by_pipeline.values():
            if len(group) > 1:
                retried += 1
                assert group[0]["status"] == "failed" and len({d["sha"] for d in group}) == 1
    assert retried >= 5 and 0.1 < envs["staging"] / envs["production"] < 0.3


def test_actions_runs_attempts_and_jobs(through: dict[str, Organisation]) -> None:
    run_keys = _keys("github_actions/workflow_runs", "single_value")
    job_keys, step_keys = (
        set(example("github_actions/jobs")["jobs"][0]),
        set(example("github_actions/jobs")["jobs"][0]["steps"][0]),
    )
    commit_keys = set(example("github_actions/workflow_runs")["workflow_runs"][0]["head_commit"])
    workflow_keys = set(example("github_actions/workflows")["workflows"][0])
    reruns = 0
    for repo in through["github_actions"].github_actions.values():
        assert workflow_keys <= set(repo.workflow) and repo.workflow["path"] == ".github/workflows/deploy.yml"
        created = [run[-1]["created_at"] for run in repo.runs]
        assert created == sorted(created, reverse=True)
        numbers = [run[0]["run_number"] for run in repo.runs]
        assert numbers == list(range(numbers[0], numbers[0] - len(numbers), -1))
        for run in repo.runs:
            first = run[0]
            assert len(run) <= 2 and [a["run_attempt"] for a in run] == list(range(1, len(run) + 1))
            for a in run:
                assert run_keys <= set(a) and commit_keys <= set(a["head_commit"])
                assert (a["id"], a["run_number"], a["head_sha"], a["created_at"]) == (
                    first["id"],
                    first["run_number"],
                    first["head_sha"],
                    first["created_at"],
                )
                assert a["head_branch"] == "main" and a["workflow_id"] == repo.workflow["id"]
                assert (a["conclusion"] is None) == (a["status"] != "completed")
                (job,) = repo.jobs[f"{a['id']}/{a['run_attempt']}"]
                assert job_keys <= set(job) and all(step_keys <= set(s) for s in job["steps"])
                assert job["name"] == "Deploy to production" and job["run_attempt"] == a["run_attempt"]
                assert (job["conclusion"], job["completed_at"]) == (
                    (a["conclusion"], a["updated_at"]) if a["status"] == "completed" else (None, None)
                )
            if len(run) == 2:  # a failed deployment retried: a re-run, its start reset
                reruns += 1
                assert first["conclusion"] == "failure" and run[1]["run_started_at"] > first["updated_at"]
                assert run[1]["previous_attempt_url"].endswith(f"/actions/runs/{first['id']}/attempts/1")
                assert first["previous_attempt_url"] is None
    assert reruns >= 10


def test_jenkins_builds(through: dict[str, Organisation]) -> None:
    build_keys = set(example("jenkins/job")["builds"][0])
    building, library_first = 0, 0
    for name, job in through["jenkins"].jenkins.items():
        service = name.removeprefix("deploy/").removesuffix("-production")
        assert name == through["jenkins"].service(service).jenkins_job
        numbers = [b["number"] for b in job.builds]
        assert numbers == list(range(numbers[0], numbers[0] - len(numbers), -1))
        for b in job.builds:
            assert build_keys <= set(b) and b["url"] == f"{job.url}{b['number']}/"
            data = [a for a in b["actions"] if a.get("_class") == "hudson.plugins.git.util.BuildData"]
            assert f"https://github.com/acme/{service}.git" in [u for d in data for u in d["remoteUrls"]]
            library_first += data[0]["remoteUrls"] != [f"https://github.com/acme/{service}.git"]
            if b["building"]:
                building += 1
                assert b["result"] is None and b["duration"] == 0 and b is job.builds[0]
            else:
                assert b["result"] in ("SUCCESS", "FAILURE") and b["duration"] > 0
    assert building >= 3 and library_first > 0


def test_config_yaml_names_each_source_and_mapping(mix: Organisation, through: dict[str, Organisation]) -> None:
    cfg = yaml.safe_load(mix.config_yaml("http://127.0.0.1:9999/"))
    base = "http://127.0.0.1:9999"
    assert cfg["sources"]["gitlab"] == {"api_url": f"{base}/gitlab/api/v4", "token": "env:SAMPLE_GITLAB_TOKEN"}
    assert cfg["sources"]["github_actions"] == {"api_url": f"{base}/github", "token": "env:SAMPLE_GITHUB_TOKEN"}
    assert cfg["sources"]["jenkins"] == {
        "api_url": f"{base}/jenkins",
        "user": "env:SAMPLE_JENKINS_USER",
        "token": "env:SAMPLE_JENKINS_TOKEN",
    }
    assert cfg["sources"]["github"]["api_url"] == f"{base}/github"
    for entry in cfg["services"]:
        s = mix.service(entry["name"])
        repo = f"acme/{s.name}"
        mapped = set(entry) - {"name", "team", "availability_target", "operating_model", "pagerduty", "jira", "costs"}
        if s.deployment_source == "gitlab":
            assert mapped == {"gitlab"}
            assert entry["gitlab"] == {"project": repo, "environment": "production", "branch": "main"}
            continue
        assert entry["github"] == {"repo": repo, "environment": "production", "branch": "main"}
        if s.deployment_source == "github":
            assert mapped == {"github"}
        elif s.deployment_source == "github_actions":
            job = {"job": "Deploy to production"} if s.actions_job else {}
            assert entry["deployment_source"] == "github_actions" and mapped == {
                "github",
                "deployment_source",
                "github_actions",
            }
            assert entry["github_actions"] == {"repo": repo, "workflow": "deploy.yml", "branch": "main"} | job
        else:
            assert entry["deployment_source"] == "jenkins" and mapped == {"github", "deployment_source", "jenkins"}
            assert entry["jenkins"] == {"jobs": [f"deploy/{s.name}-production"]}
    only_gitlab = yaml.safe_load(through["gitlab"].config_yaml(base))
    assert "github" not in only_gitlab["sources"] and set(only_gitlab["sources"]) >= {"gitlab", "pagerduty"}
    assert "gitlab" not in yaml.safe_load(through["jenkins"].config_yaml(base))["sources"]


def test_tokens_counts_and_json_cover_the_new_sources(mix: Organisation) -> None:
    assert {
        "gitlab": "SAMPLE_GITLAB_TOKEN",
        "jenkins_user": "SAMPLE_JENKINS_USER",
        "jenkins": "SAMPLE_JENKINS_TOKEN",
    }.items() <= TOKEN_VARIABLES.items()
    tokens = sample_tokens()
    assert set(tokens) == set(TOKEN_VARIABLES) and tokens["jenkins_user"] and tokens["gitlab"] != tokens["jenkins"]
    assert token_environment(tokens)["SAMPLE_JENKINS_TOKEN"] == tokens["jenkins"]
    counts = mix.counts()
    projects, actions = mix.gitlab.values(), mix.github_actions.values()
    assert counts["gitlab.merge_requests"] == sum(len(p.merge_requests) for p in projects) > 0
    assert counts["gitlab.deployments"] == sum(len(p.deployments) for p in projects) > 0
    assert counts["gitlab.commits"] > 0 and counts["gitlab.merge_request_commits"] > counts["gitlab.merge_requests"]
    assert counts["github_actions.workflow_runs"] == sum(len(run) for r in actions for run in r.runs)
    assert counts["github_actions.jobs"] == counts["github_actions.workflow_runs"]
    assert counts["jenkins.builds"] == sum(len(j.builds) for j in mix.jenkins.values()) > 0
    doc = json.loads(mix.to_json())
    assert set(doc["gitlab"]) == set(mix.gitlab) and set(doc["jenkins"]) == set(mix.jenkins)
    assert {s["name"]: s.get("deployment_source", "github") for s in doc["services"]} == {
        s.name: s.deployment_source for s in mix.services
    }


@pytest.mark.parametrize("n", [1, 2, 4])
def test_small_organisations_render_through_every_source(n: int) -> None:
    for options in ({"source_mix": True}, *({"deployment_source": s} for s in DEPLOYMENT_SOURCES)):
        small = generate(n_services=n, days=30, seed=3, end=dt.date(2025, 1, 1), **options)
        yaml.safe_load(small.config_yaml("http://127.0.0.1:1"))
        assert production_attempts(small) == production_attempts(
            generate(n_services=n, days=30, seed=3, end=dt.date(2025, 1, 1), deployment_source="github")
        )
    mixed = generate(n_services=4, days=30, seed=3, end=dt.date(2025, 1, 1), source_mix=True)
    assert Counter(s.deployment_source for s in mixed.services) == dict.fromkeys(DEPLOYMENT_SOURCES, 1)
