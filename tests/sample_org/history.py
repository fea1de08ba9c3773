"""What happened in a generated organisation, read back from whichever APIs render each service.

Every reader returns plain tuples keyed by service name, so the same organisation rendered through GitHub, GitLab,
GitHub Actions or Jenkins can be compared as sets: only identifiers and shapes may differ between renderings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sample_org import Organisation, Service

# (service, deployed sha, requested at, finished at or None while running, success | failure | running)
Attempt = tuple[str, str, int, int | None, str]


def epoch(text: str) -> int:
    """Epoch seconds of an ISO 8601 timestamp (Z or an offset, with or without milliseconds)."""
    return int(dt.datetime.fromisoformat(text).timestamp())


def _github_attempts(org: Organisation, s: Service) -> Iterator[tuple[str, int, str, str | None]]:
    repo = org.github[s.github_repo]
    for d in repo.deployments:
        if d["environment"] == "production":
            final = repo.statuses[d["id"]][0]  # newest first
            yield d["sha"], epoch(d["created_at"]), final["state"], final["created_at"]


def _gitlab_attempts(org: Organisation, s: Service) -> Iterator[tuple[str, int, str, str | None]]:
    outcome = {"success": "success", "failed": "failure", "running": "running", "created": "running"}
    for d in org.gitlab[s.github_repo].deployments:
        if d["environment"]["name"] == "production":
            yield d["sha"], epoch(d["created_at"]), outcome[d["status"]], d["deployable"]["finished_at"]


def _actions_attempts(org: Organisation, s: Service) -> Iterator[tuple[str, int, str, str | None]]:
    for run in org.github_actions[s.github_repo].runs:
        for a in run:
            yield a["head_sha"], epoch(a["run_started_at"]), a["conclusion"] or "running", a["updated_at"]


def _jenkins_attempts(org: Organisation, s: Service) -> Iterator[tuple[str, int, str, str | None]]:
    for b in org.jenkins[s.jenkins_job].builds:
        remote = f"https://github.com/{s.github_repo}.git"
        sha = next(x["lastBuiltRevision"]["SHA1"] for x in b["actions"] if remote in x.get("remoteUrls", ()))
        end = dt.datetime.fromtimestamp((b["timestamp"] + b["duration"]) / 1000, dt.UTC).isoformat()
        yield sha, b["timestamp"] // 1000, (b["result"] or "running").lower(), end


_READERS = {
    "github": _github_attempts,
    "gitlab": _gitlab_attempts,
    "github_actions": _actions_attempts,
    "jenkins": _jenkins_attempts,
}


def production_attempts(org: Organisation) -> set[Attempt]:
    """Every production deployment attempt, read from the source each service deploys through."""
    out: set[Attempt] = set()
    for s in org.services:
        for sha, requested, state, finished in _READERS[s.deployment_source](org, s):
            done = state in ("success", "failure")
            out.add((s.name, sha, requested, epoch(finished) if done else None, state if done else "running"))
    return out


def git_graph(org: Organisation) -> set[tuple[str, str, tuple[str, ...], int, int]]:
    """(service, sha, parents, authored at, committed at) of every commit reachable from main."""
    out = set()
    for s in org.services:
        if s.deployment_source == "gitlab":
            for c in org.gitlab[s.github_repo].commits:
                out.add(
                    (s.name, c["id"], tuple(c["parent_ids"]), epoch(c["authored_date"]), epoch(c["committed_date"]))
                )
        else:
            for c in org.github[s.github_repo].commits:
                meta = c["commit"]
                out.add(
                    (
                        s.name,
                        c["sha"],
                        tuple(p["sha"] for p in c["parents"]),
                        epoch(meta["author"]["date"]),
                        epoch(meta["committer"]["date"]),
                    )
                )
    return out


def first_parent_positions(org: Organisation, service: str) -> dict[str, int]:
    """Position of each commit on main's first-parent chain, counted from the root (0)."""
    s = org.service(service)
    if s.deployment_source == "gitlab":
        commits = org.gitlab[s.github_repo].commits
        parents = {c["id"]: c["parent_ids"] for c in commits}
        head = commits[0]["id"]
    else:
        commits = org.github[s.github_repo].commits
        parents = {c["sha"]: [p["sha"] for p in c["parents"]] for c in commits}
        head = commits[0]["sha"]
    chain = [head]
    while parents[chain[-1]]:
        chain.append(parents[chain[-1]][0])
    return {sha: i for i, sha in enumerate(reversed(chain))}


def merged_changes(org: Organisation) -> set[tuple[str, int, int, str, int]]:
    """(service, number, merged at, the sha that put the change on main, its first-parent position) of every
    merged pull or merge request."""
    out = set()
    for s in org.services:
        positions = first_parent_positions(org, s.name)
        if s.deployment_source == "gitlab":
            for mr in org.gitlab[s.github_repo].merge_requests:
                if mr["state"] == "merged":
                    sha = mr["merge_commit_sha"] or mr["squash_commit_sha"] or mr["sha"]  # fast-forward: the head
                    out.add((s.name, mr["iid"], epoch(mr["merged_at"]), sha, positions[sha]))
        else:
            for p in org.github[s.github_repo].pulls:
                if p["merged_at"]:
                    sha = p["merge_commit_sha"]
                    out.add((s.name, p["number"], epoch(p["merged_at"]), sha, positions[sha]))
    return out
