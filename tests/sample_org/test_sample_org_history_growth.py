"""One more day of history keeps the past: the organisation generated with the same seed, `end` a day later and
`days + 1` holds every record of the shorter one byte for byte, except those still open at its end (an incident, a
pull request, a running deployment, a draft review or an open action), and the new day only adds records.

That is what an incremental run after one more day reads (benchmarks/scale.py); `benchmarks/history_diff.py`
measures the same at scale.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from sample_org import Organisation, generate
from tests.sample_org.conftest import END

SIZE = {"n_services": 6, "seed": 11, "opsgenie_services": 1}
DAYS = 60

Records = dict[tuple[str, ...], dict]


def _put(out: Records, key: tuple, record: dict) -> None:
    assert key not in out, f"two records under {key}"
    out[tuple(str(k) for k in key)] = record


def records(org: Organisation) -> Records:
    """Every record the sample server serves, by (collection, identifier...)."""
    out: Records = {}
    for s in org.services:
        _put(out, ("service", s.name), json.loads(json.dumps(s.__dict__, default=str)))
    for t in org.teams:
        _put(out, ("team", t["name"]), t)
    for u in org.pagerduty_users:
        _put(out, ("pagerduty.user", u["id"]), u)
    for name, repo in org.github.items():
        for c in repo.commits:
            _put(out, ("github.commit", name, c["sha"]), c)
        for p in repo.pulls:
            _put(out, ("github.pull", name, p["number"]), p)
        for number, commits in repo.pull_commits.items():
            for c in commits:
                _put(out, ("github.pull_commit", name, number, c["sha"]), c)
        for d in repo.deployments:
            _put(out, ("github.deployment", name, d["id"]), d)
        for statuses in repo.statuses.values():
            for s in statuses:
                _put(out, ("github.status", name, s["id"]), s)
    for i in org.pagerduty_incidents:
        _put(out, ("pagerduty.incident", i["id"]), i)
    for e in org.pagerduty_log_entries:
        _put(out, ("pagerduty.log_entry", e["id"]), e)
    for i in org.jira_issues:
        _put(out, ("jira.issue", i["key"]), i)
    for a in org.opsgenie_alerts:
        _put(out, ("opsgenie.alert", a["id"]), a)
    for i in org.opsgenie_incidents:
        _put(out, ("opsgenie.incident", i["id"]), i)
    for path, p in org.gitlab.items():
        _put(out, ("gitlab.project", path), {"id": p.id})
        for mr in p.merge_requests:
            _put(out, ("gitlab.merge_request", path, mr["iid"]), mr)
        for iid, commits in p.merge_request_commits.items():
            for c in commits:
                _put(out, ("gitlab.merge_request_commit", path, iid, c["id"]), c)
        for c in p.commits:
            _put(out, ("gitlab.commit", path, c["id"]), c)
        for d in p.deployments:
            _put(out, ("gitlab.deployment", path, d["id"]), d)
    for name, repo in org.github_actions.items():
        _put(out, ("github_actions.workflow", name), repo.workflow)
        for run in repo.runs:
            for attempt in run:
                _put(out, ("github_actions.run", name, attempt["id"], attempt["run_attempt"]), attempt)
        for jobs in repo.jobs.values():
            for job in jobs:
                _put(out, ("github_actions.job", name, job["id"]), job)
    for name, job in org.jenkins.items():
        for b in job.builds:
            _put(out, ("jenkins.build", name, b["number"]), b)
    return out


def _still_open(old: Organisation, new: Records) -> Callable[[tuple[str, ...], dict], bool]:
    """Whether the shorter history's record under `key` was still open at its end, so may have moved on."""
    finished = ("success", "failure")
    running_github = {
        str(d) for repo in old.github.values() for d, s in repo.statuses.items() if s[0]["state"] not in finished
    }
    open_issues = {i["key"] for i in old.jira_issues if i["fields"]["resolutiondate"] is None}
    old_keys = {i["key"] for i in old.jira_issues}
    # A GitLab pipeline a retry joins after the end shows the retry's status on the failed attempt too.
    old_gitlab = {str(d["id"]) for p in old.gitlab.values() for d in p.deployments}
    rejoined = {
        record["deployable"]["pipeline"]["id"]
        for key, record in new.items()
        if key[0] == "gitlab.deployment" and key[2] not in old_gitlab
    }

    def still_open(key: tuple[str, ...], r: dict) -> bool:
        kind = key[0]
        if kind == "github.pull":
            return r["state"] == "open"
        if kind == "github.deployment":
            return key[2] in running_github
        if kind == "pagerduty.incident":
            return r["status"] != "resolved"
        if kind == "jira.issue":
            # A review also shows its actions: one added or moving on changes the review's record.
            linked = {link.get("inwardIssue", {}).get("key") for link in new[key]["fields"]["issuelinks"]}
            return r["key"] in open_issues or any(k in open_issues or k not in old_keys for k in linked - {None})
        if kind in ("opsgenie.alert", "opsgenie.incident"):
            return r["status"] == "open"
        if kind == "gitlab.merge_request":
            return r["state"] == "opened"
        if kind == "gitlab.deployment":
            return r["status"] in ("created", "running") or r["deployable"]["pipeline"]["id"] in rejoined
        if kind in ("github_actions.run", "github_actions.job"):
            return r["status"] != "completed"
        if kind == "jenkins.build":
            return r["building"]
        return False

    return still_open


# When each kind of record came to be (None: commits, which a merge makes reachable long after they were written).
_CREATED: dict[str, Callable[[dict], str] | None] = {
    "github.pull": lambda r: r["created_at"],
    "github.deployment": lambda r: r["created_at"],
    "github.status": lambda r: r["created_at"],
    "pagerduty.incident": lambda r: r["created_at"],
    "pagerduty.log_entry": lambda r: r["created_at"],
    "jira.issue": lambda r: r["fields"]["created"],
    "opsgenie.alert": lambda r: r["createdAt"],
    "opsgenie.incident": lambda r: r["createdAt"],
    "gitlab.merge_request": lambda r: r["created_at"],
    "gitlab.deployment": lambda r: r["created_at"],
    "github_actions.run": lambda r: r["run_started_at"],
    "github_actions.job": lambda r: r["created_at"],
    "jenkins.build": lambda r: dt.datetime.fromtimestamp(r["timestamp"] / 1000, dt.UTC).isoformat(),
}


@pytest.mark.parametrize("options", [{}, {"source_mix": True}], ids=["default", "source_mix"])
def test_one_more_day_keeps_the_past_and_only_adds(options: dict) -> None:
    shorter = generate(**SIZE, days=DAYS, end=END, **options)
    longer = generate(**SIZE, days=DAYS + 1, end=END + dt.timedelta(days=1), **options)
    assert longer.start == shorter.start
    old, new = records(shorter), records(longer)
    still_open = _still_open(shorter, new)
    # A merge request merged by rebase in the new day lists the rebased commits instead of its branch's.
    opened = {(key[1], key[2]) for key, r in old.items() if key[0] == "gitlab.merge_request" and r["state"] == "opened"}
    gone = [key for key in old if key not in new]
    assert not [k for k in gone if k[0] != "gitlab.merge_request_commit" or k[1:3] not in opened], "records are gone"
    changed = [key for key in old if old[key] != new[key]]
    assert not [key for key in changed if not still_open(key, old[key])], "closed records changed"
    assert len(changed) < len(old) / 100
    added = [key for key in new if key not in old]
    assert added, "the new day adds records"
    for key in added:
        created = _CREATED.get(key[0])
        if created is not None:
            assert created(new[key]) >= END.isoformat(), (key, created(new[key]))
    # Same arguments, same bytes, whatever else was generated before.
    assert generate(**SIZE, days=DAYS, end=END, **options).to_json() == shorter.to_json()
