#!/usr/bin/env python3
"""Build a small raw warehouse for developing and smoke-testing the dbt project (dev only).

Writes the raw_* tables of docs/CONTRACTS.md (raw_github, raw_pagerduty, raw_jira, raw_catalog) into a DuckDB
file, with payloads shaped like the real API examples: a handful of services, one of which migrates from
ops_run_it to you_build_it_you_run_it; merge, squash and rebase merges and direct pushes; staging deployments,
failed production deployments retried under a new id; overlapping, open and out-of-hours incidents; published and
draft reviews; completed and open actions; timestamps in the formats real sources use.

    python scripts/make_dev_warehouse.py [--path target/dev_warehouse.duckdb] [--end 2025-06-30] [--days 200] [--seed 7]

then, from dbt_project/:

    OPMETRICS_WAREHOUSE=target/dev_warehouse.duckdb OPMETRICS_AS_OF=<end> dbt build

The real organisation comes from sample_org/; this fixture only keeps dbt buildable without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
from pathlib import Path

import duckdb
import pandas as pd

UTC = dt.UTC
YBIYRI = "you_build_it_you_run_it"
OPS = "ops_run_it"

# (service, team, availability target, attribution window hours or None, pagerduty id, jira project,
#  [(model, days after the start of history)])
SERVICES = [
    ("checkout", "payments", 99.9, None, "PCHK001", "CHK", [(OPS, 0), (YBIYRI, -60)]),
    ("search", "discovery", 99.95, None, "PSRC001", "SRCH", [(YBIYRI, 0)]),
    ("billing", "finance", 99.5, 48.0, "PBIL001", "BIL", [(OPS, 0)]),
    ("catalog-api", "discovery", 99.9, None, "PCAT001", "CAT", [(YBIYRI, 0)]),
    ("ledger", "finance", 99.9, None, "PLED001", "LED", [(OPS, 0)]),
]

RAW_COLUMNS = (
    "_pk varchar primary key, _cursor timestamptz, _context json, payload json, "
    "_loaded_at timestamptz, _sync_id varchar"
)


# ---------------------------------------------------------------- timestamp formats seen in real payloads
def iso_z(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(t: dt.datetime, hours: int) -> str:
    local = t.astimezone(dt.timezone(dt.timedelta(hours=hours)))
    return local.isoformat(timespec="milliseconds")  # 2022-01-12T09:47:26.948+01:00


def space_offset(t: dt.datetime, hours: int) -> str:
    local = t.astimezone(dt.timezone(dt.timedelta(hours=hours)))
    return local.strftime("%Y-%m-%d %H:%M:%S %z")  # 2022-01-05 04:36:28 -0800


def jira_ts(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")  # 2021-12-23T11:26:21.000+0000


def utc_word(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")  # 2015-05-17 18:21:36 UTC


def naive_micro(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # 2022-01-18 05:35:35.320020


def epoch_ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


class Org:
    def __init__(self, seed: int, end: dt.date, days: int):
        self.rng = random.Random(seed)
        self.end = dt.datetime.combine(end, dt.time(), UTC)  # exclusive: nothing happens at or after it
        self.start = self.end - dt.timedelta(days=days)
        self.rows: dict[str, list[tuple]] = {}
        self.counter = 0
        self.sync_id = f"dev-{seed}"

    # ------------------------------------------------------------------------------------------ helpers
    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def sha(self) -> str:
        return hashlib.sha1(f"commit-{self.next_id()}".encode()).hexdigest()

    def add(self, table: str, pk: str, cursor: dt.datetime | None, context: dict, payload: dict) -> None:
        self.rows.setdefault(table, []).append(
            (pk, cursor, json.dumps(context), json.dumps(payload), self.end, self.sync_id)
        )

    def model_at(self, spec, t: dt.datetime) -> str:
        current = spec[6][0][0]
        for model, offset in spec[6]:
            frm = self.start + dt.timedelta(days=offset) if offset >= 0 else self.end + dt.timedelta(days=offset)
            if t >= frm:
                current = model
        return current

    # ------------------------------------------------------------------------------------------ github
    def commit_payload(self, repo, sha, parents, author, authored, committed, message, fmt_hours):
        # GitHub returns Z; some mirrors/enterprise proxies keep the author's offset: exercise both
        authored_s = iso_z(authored) if fmt_hours is None else iso_offset(authored, fmt_hours)
        return {
            "url": f"https://api.github.com/repos/{repo}/commits/{sha}",
            "sha": sha,
            "html_url": f"https://github.com/{repo}/commit/{sha}",
            "commit": {
                "author": {"name": author, "email": f"{author.lower()}@acme.test", "date": authored_s},
                "committer": {"name": "GitHub", "email": "noreply@github.com", "date": iso_z(committed)},
                "message": message,
                "comment_count": 0,
            },
            "author": {"login": author.lower(), "type": "User"},
            "committer": {"login": "web-flow", "type": "User"},
            "parents": [{"sha": p, "url": f"https://api.github.com/repos/{repo}/commits/{p}"} for p in parents],
        }

    def add_commit(self, repo, branch_commits, sha, parents, author, authored, committed, message):
        fmt = self.rng.choice([None, None, 1, -8])
        payload = self.commit_payload(repo, sha, parents, author, authored, committed, message, fmt)
        branch_commits.append(payload)
        self.add("raw_github.commits", f"{repo}:{sha}", committed, {"repo": repo, "branch": "main"}, payload)
        return payload

    def github(self, spec):
        service = spec[0]
        repo = f"acme/{service}"
        authors = ["Ana", "Bo", "Chen", "Dara", "Eli"]
        commits: list[dict] = []
        mainline: list[str] = []  # first-parent chain, oldest first

        root = self.sha()
        t0 = self.start - dt.timedelta(days=1)
        self.add_commit(repo, commits, root, [], "Ana", t0, t0, "Initial commit")
        mainline.append(root)
        pr_number = 0
        deploy_day_counter = 0

        day = self.start
        while day < self.end:
            weekday = day.weekday() < 5
            model = self.model_at(spec, day)
            # ---- merges of the day
            n_prs = self.rng.choice([1, 2, 3, 3, 4]) if weekday else 0
            times = sorted(day + dt.timedelta(hours=self.rng.uniform(9, 17)) for _ in range(n_prs))
            for merged_at in times:
                pr_number += 1
                author = self.rng.choice(authors)
                title = f"{service}: change {pr_number}"
                n_commits = self.rng.randint(1, 3)
                # branch commits written over the days before the merge (ops teams batch for longer)
                span_h = self.rng.uniform(1, 48 if model == YBIYRI else 120)
                authored = sorted(
                    merged_at - dt.timedelta(hours=self.rng.uniform(0.2, span_h)) for _ in range(n_commits)
                )
                # the branch forks from an older mainline commit: its commits can predate earlier deployments
                fork = mainline[max(0, len(mainline) - 1 - self.rng.randint(0, 6))]
                branch, parent = [], fork
                for i, a in enumerate(authored):
                    s = self.sha()
                    branch.append({"sha": s, "parent": parent, "authored": a, "message": f"{title} part {i + 1}"})
                    parent = s
                kind = self.rng.choices(["merge", "squash", "rebase"], weights=[5, 3, 2])[0]
                if kind == "merge":
                    for b in branch:
                        self.add_commit(
                            repo, commits, b["sha"], [b["parent"]], author, b["authored"], b["authored"], b["message"]
                        )
                    merge_sha = self.sha()
                    self.add_commit(
                        repo,
                        commits,
                        merge_sha,
                        [mainline[-1], branch[-1]["sha"]],
                        author,
                        merged_at,
                        merged_at,
                        f"Merge pull request #{pr_number} from acme/topic-{pr_number}\n\n{title}",
                    )
                    mainline.append(merge_sha)
                elif kind == "squash":
                    merge_sha = self.sha()
                    self.add_commit(
                        repo,
                        commits,
                        merge_sha,
                        [mainline[-1]],
                        author,
                        merged_at,
                        merged_at,
                        f"{title} (#{pr_number})",
                    )
                    mainline.append(merge_sha)
                else:  # rebase: same author, date and message, new sha, committer date = merged_at
                    for b in branch:
                        s = self.sha()
                        self.add_commit(
                            repo, commits, s, [mainline[-1]], author, b["authored"], merged_at, b["message"]
                        )
                        mainline.append(s)
                    merge_sha = mainline[-1]
                for b in branch:
                    payload = self.commit_payload(
                        repo, b["sha"], [b["parent"]], author, b["authored"], b["authored"], b["message"], None
                    )
                    self.add(
                        "raw_github.pull_commits",
                        f"{repo}:{pr_number}:{b['sha']}",
                        b["authored"],
                        {"repo": repo, "pull_number": pr_number},
                        payload,
                    )
                pr_id = self.next_id()
                pr = {
                    "url": f"https://api.github.com/repos/{repo}/pulls/{pr_number}",
                    "id": pr_id,
                    "number": pr_number,
                    "state": "closed",
                    "title": title,
                    "user": {"login": author.lower()},
                    "created_at": iso_z(authored[0]),
                    "updated_at": iso_z(merged_at),
                    "closed_at": iso_z(merged_at),
                    "merged_at": iso_z(merged_at),
                    "merge_commit_sha": merge_sha,
                    "head": {"ref": f"topic-{pr_number}", "sha": branch[-1]["sha"]},
                    "base": {"ref": "main", "repo": {"full_name": repo}},
                }
                self.add("raw_github.pull_requests", str(pr_id), merged_at, {"repo": repo}, pr)
            # a closed, unmerged pull request now and then: not a change
            if weekday and self.rng.random() < 0.1:
                pr_number += 1
                pr_id = self.next_id()
                t = day + dt.timedelta(hours=12)
                self.add(
                    "raw_github.pull_requests",
                    str(pr_id),
                    t,
                    {"repo": repo},
                    {
                        "id": pr_id,
                        "number": pr_number,
                        "state": "closed",
                        "title": "abandoned",
                        "created_at": iso_z(t - dt.timedelta(days=2)),
                        "updated_at": iso_z(t),
                        "closed_at": iso_z(t),
                        "merged_at": None,
                        "merge_commit_sha": self.sha(),
                        "base": {"ref": "main"},
                        "head": {"ref": "x"},
                    },
                )
            # ---- direct pushes
            if weekday and self.rng.random() < 0.15:
                t = day + dt.timedelta(hours=self.rng.uniform(9, 18))
                s = self.sha()
                self.add_commit(
                    repo, commits, s, [mainline[-1]], "Ops", t - dt.timedelta(minutes=5), t, "hotfix config"
                )
                mainline.append(s)
            # ---- deployments of the mainline head
            if model == YBIYRI:
                deploy_today = weekday and self.rng.random() < 0.9
            else:
                deploy_day_counter += 1
                deploy_today = deploy_day_counter % 14 == 0
            if deploy_today:
                t = day + dt.timedelta(hours=17, minutes=self.rng.randint(5, 50))
                self.deploy(repo, mainline[-1], "staging", t, succeed=True)
                t_prod = t + dt.timedelta(minutes=30)
                if self.rng.random() < 0.12:
                    failed_at = self.deploy(repo, mainline[-1], "production", t_prod, succeed=False)
                    self.deploy(repo, mainline[-1], "production", failed_at + dt.timedelta(minutes=20), succeed=True)
                else:
                    self.deploy(repo, mainline[-1], "production", t_prod, succeed=True)
            day += dt.timedelta(days=1)

    def deploy(self, repo, sha, environment, created, succeed):
        dep_id = self.next_id()
        finished = created + dt.timedelta(minutes=self.rng.randint(3, 15))
        payload = {
            "url": f"https://api.github.com/repos/{repo}/deployments/{dep_id}",
            "id": dep_id,
            "sha": sha,
            "ref": "main",
            "task": "deploy",
            "payload": {},
            "original_environment": environment,
            "environment": environment,
            "description": "Deploy request from CI",
            "creator": {"login": "ci-bot"},
            "created_at": iso_z(created),
            # updated_at moves with every status: it is not the deployment time
            "updated_at": iso_z(finished + dt.timedelta(hours=1)),
            "statuses_url": f"https://api.github.com/repos/{repo}/deployments/{dep_id}/statuses",
            "repository_url": f"https://api.github.com/repos/{repo}",
            "transient_environment": False,
            "production_environment": environment == "production",
        }
        self.add("raw_github.deployments", str(dep_id), created, {"repo": repo}, payload)
        states = [
            ("queued", created),
            ("in_progress", created + dt.timedelta(minutes=1)),
            ("success" if succeed else "failure", finished),
        ]
        if succeed and self.rng.random() < 0.3:  # a later status must not move deployed_at
            states.append(("inactive", finished + dt.timedelta(days=1)))
        for state, at in states:
            if at >= self.end:
                continue
            sid = self.next_id()
            self.add(
                "raw_github.deployment_statuses",
                str(sid),
                at,
                {"repo": repo, "deployment_id": dep_id},
                {
                    "url": f"https://api.github.com/repos/{repo}/deployments/{dep_id}/statuses/{sid}",
                    "id": sid,
                    "state": state,
                    "description": f"Deployment {state}",
                    "environment": environment,
                    # mostly Z; a few naive UTC timestamps (seen from proxies) exercise the parser
                    "created_at": iso_z(at) if self.rng.random() < 0.9 else naive_micro(at),
                    "updated_at": iso_z(at),
                    "deployment_url": f"https://api.github.com/repos/{repo}/deployments/{dep_id}",
                    "repository_url": f"https://api.github.com/repos/{repo}",
                },
            )
        return finished

    # ------------------------------------------------------------------------------------------ pagerduty + jira
    def incidents(self, spec):
        service, _, _, _, pd_id, project, _ = spec
        day = self.start
        while day < self.end:
            # ops-run services page less often but stay down longer (the playbook's picture)
            rate = 0.10 if self.model_at(spec, day) == YBIYRI else 0.05
            if self.rng.random() < rate:
                triggered = day + dt.timedelta(hours=self.rng.uniform(0, 24))
                self.incident(spec, triggered, overlap=self.rng.random() < 0.15)
            day += dt.timedelta(days=1)
        if service in ("checkout", "billing"):
            # still open when the history ends
            self.incident(spec, self.end - dt.timedelta(hours=5), open_=True)

    def incident(self, spec, triggered, overlap=False, open_=False):
        service, _, _, _, pd_id, project, _ = spec
        model = self.model_at(spec, triggered)
        if triggered >= self.end:
            return
        if model == YBIYRI:
            ttr = dt.timedelta(minutes=self.rng.uniform(5, 150))
        else:
            ttr = dt.timedelta(hours=self.rng.uniform(2, 20))
        ack = triggered + dt.timedelta(minutes=self.rng.uniform(1, 20))
        resolved = None if open_ else triggered + ttr
        if resolved is not None and resolved >= self.end:
            resolved = None
        inc_number = self.next_id()
        inc_id = f"Q{inc_number:06d}"
        html_url = f"https://acme.pagerduty.com/incidents/{inc_id}"
        status = "resolved" if resolved else ("acknowledged" if ack < self.end else "triggered")
        last_change = resolved or (ack if ack < self.end else triggered)
        fmt = self.rng.random()
        created_s = (
            iso_z(triggered) if fmt < 0.7 else (iso_offset(triggered, 1) if fmt < 0.85 else space_offset(triggered, -8))
        )
        payload = {
            "id": inc_id,
            "type": "incident",
            "summary": f"[#{inc_number}] {service} errors",
            "self": f"https://api.pagerduty.com/incidents/{inc_id}",
            "html_url": html_url,
            "incident_number": inc_number,
            "title": f"{service} errors",
            "created_at": created_s,
            "updated_at": iso_z(last_change),
            "status": status,
            "service": {"id": pd_id, "type": "service_reference", "summary": service},
            "last_status_change_at": iso_z(last_change),
            "urgency": self.rng.choice(["high", "high", "low"]),
            "priority": self.rng.choice(
                [
                    None,
                    {"id": "PP1", "type": "priority_reference", "summary": "P1"},
                    {"id": "PP2", "type": "priority_reference", "summary": "P2"},
                ]
            ),
        }
        self.add("raw_pagerduty.incidents", inc_id, last_change, {}, payload)
        entries = [("trigger_log_entry", triggered)]
        if ack < self.end:
            entries.append(("acknowledge_log_entry", ack))
        # a few resolved incidents lack a resolve entry: last_status_change_at is the fallback
        if resolved and self.rng.random() < 0.9:
            entries.append(("resolve_log_entry", resolved))
        for kind, at in entries:
            le_id = f"R{self.next_id():08d}"
            r = self.rng.random()
            created = iso_z(at) if r < 0.8 else (utc_word(at) if r < 0.95 else epoch_ms(at))
            self.add(
                "raw_pagerduty.log_entries",
                le_id,
                at,
                {},
                {
                    "id": le_id,
                    "type": kind,
                    "summary": kind.replace("_", " "),
                    "created_at": created,
                    "incident": {"id": inc_id, "type": "incident_reference", "html_url": html_url},
                    "agent": {"type": "service_reference", "id": pd_id},
                    "channel": {"type": "api"},
                },
            )
        if overlap and resolved:
            # a second page on the same service while the first is still open
            self.incident(spec, triggered + (resolved - triggered) / 3)
        if resolved and self.rng.random() < 0.8:
            self.review(spec, inc_id, html_url, resolved, model)

    def review(self, spec, inc_id, html_url, resolved, model):
        project = spec[5]
        rid = str(10000 + self.next_id())
        key = f"{project}-{self.next_id()}"
        created = resolved + dt.timedelta(minutes=self.rng.uniform(10, 120))
        published = created + dt.timedelta(hours=self.rng.uniform(1, 36 if model == YBIYRI else 96))
        if self.rng.random() < 0.1 or published >= self.end:
            published = None  # still a draft
        fields = {
            "summary": f"Post-incident review of {inc_id}",
            "issuetype": {"name": "Post-incident review"},
            "labels": ["postmortem"],
            "project": {"key": project},
            "status": {"name": "Done" if published else "Draft"},
            "created": jira_ts(created),
            "updated": jira_ts(published or created),
            "resolutiondate": jira_ts(published) if published else None,
            "customfield_10042": html_url,
        }
        if created >= self.end:
            return
        self.add("raw_jira.reviews", rid, published or created, {}, {"id": rid, "key": key, "fields": fields})
        for _ in range(self.rng.randint(1, 3)):
            aid = str(20000 + self.next_id())
            akey = f"{project}-{self.next_id()}"
            a_created = created + dt.timedelta(hours=self.rng.uniform(0, 24))
            if model == YBIYRI:
                done = a_created + dt.timedelta(hours=self.rng.uniform(2, 96))
            else:
                done = a_created + dt.timedelta(days=self.rng.uniform(10, 90))
            if done >= self.end or self.rng.random() < 0.1:
                done = None
            if a_created >= self.end:
                continue
            self.add(
                "raw_jira.actions",
                aid,
                done or a_created,
                {},
                {
                    "id": aid,
                    "key": akey,
                    "fields": {
                        "summary": "Improve alerting",
                        "issuetype": {"name": "Task"},
                        "labels": ["postmortem-action"],
                        "project": {"key": project},
                        "status": {"name": "Done" if done else "To Do"},
                        "created": jira_ts(a_created),
                        "updated": jira_ts(done or a_created),
                        "resolutiondate": jira_ts(done) if done else None,
                        "issuelinks": [
                            {"id": str(self.next_id()), "type": {"name": "Relates"}, "outwardIssue": {"key": key}}
                        ],
                    },
                },
            )

    # ------------------------------------------------------------------------------------------ write
    def build(self):
        for spec in SERVICES:
            self.github(spec)
            self.incidents(spec)
        self.bad_records()

    def bad_records(self):
        """A few records that break a rule: they must land in quarantine.quarantined_records, not vanish."""
        t = self.end - dt.timedelta(days=3)
        self.deploy("acme/legacy", "0" * 40, "production", t, succeed=True)  # a repo no service owns
        self.add(
            "raw_pagerduty.incidents",
            "QORPHAN",
            t,
            {},
            {  # a PagerDuty service not in the catalog
                "id": "QORPHAN",
                "type": "incident",
                "status": "resolved",
                "urgency": "high",
                "priority": None,
                "created_at": iso_z(t),
                "last_status_change_at": iso_z(t + dt.timedelta(hours=1)),
                "service": {"id": "PUNKNOWN", "type": "service_reference"},
                "html_url": "https://acme.pagerduty.com/incidents/QORPHAN",
            },
        )
        self.add(
            "raw_jira.reviews",
            "19999",
            t,
            {},
            {
                "id": "19999",
                "key": "CHK-9999",
                "fields": {  # names no incident
                    "summary": "Review of a call that never paged",
                    "issuetype": {"name": "Post-incident review"},
                    "labels": ["postmortem"],
                    "project": {"key": "CHK"},
                    "status": {"name": "Draft"},
                    "created": jira_ts(t),
                    "resolutiondate": None,
                    "customfield_10042": None,
                },
            },
        )

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        con = duckdb.connect(str(path))
        for schema in ("raw_github", "raw_pagerduty", "raw_jira", "raw_catalog"):
            con.execute(f"create schema {schema}")
        for table in (
            "raw_github.deployments",
            "raw_github.deployment_statuses",
            "raw_github.pull_requests",
            "raw_github.pull_commits",
            "raw_github.commits",
            "raw_pagerduty.incidents",
            "raw_pagerduty.log_entries",
            "raw_jira.reviews",
            "raw_jira.actions",
        ):
            con.execute(f"create table {table} ({RAW_COLUMNS})")
            rows = self.rows.get(table, [])
            if rows:  # one bulk insert per table (executemany is row by row)
                frame = pd.DataFrame(rows, columns=["_pk", "_cursor", "_context", "payload", "_loaded_at", "_sync_id"])
                con.register("frame", frame)
                con.execute(f"insert into {table} select * from frame")
                con.unregister("frame")
        con.execute("""create table raw_catalog.services (service varchar primary key, team varchar,
            availability_target double, attribution_window_hours double, github_repo varchar,
            github_environment varchar, github_branch varchar, pagerduty_service_id varchar, jira_project varchar)""")
        con.execute(
            "create table raw_catalog.operating_models (service varchar, operating_model varchar, valid_from date)"
        )
        con.execute("create table raw_catalog.settings (key varchar, value varchar)")
        for service, team, target, window, pd_id, project, models in SERVICES:
            con.execute(
                "insert into raw_catalog.services values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [service, team, target, window, f"acme/{service}", "production", "main", pd_id, project],
            )
            for model, offset in models:
                frm = (
                    (self.start + dt.timedelta(days=offset)) if offset >= 0 else (self.end + dt.timedelta(days=offset))
                )
                con.execute("insert into raw_catalog.operating_models values (?, ?, ?)", [service, model, frm.date()])
        con.executemany(
            "insert into raw_catalog.settings values (?, ?)",
            [("jira_incident_link_field", "customfield_10042"), ("timezone", "UTC")],
        )
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent.parent
    parser.add_argument(
        "--path", default=os.environ.get("OPMETRICS_WAREHOUSE", str(here / "target" / "dev_warehouse.duckdb"))
    )
    parser.add_argument(
        "--end",
        default=dt.datetime.now(UTC).date().isoformat(),
        help="first day with no data (use it as OPMETRICS_AS_OF); default today UTC",
    )
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    org = Org(args.seed, dt.date.fromisoformat(args.end), args.days)
    org.build()
    org.write(Path(args.path))
    counts = {t: len(r) for t, r in sorted(org.rows.items())}
    print(f"wrote {args.path}: {counts}; use OPMETRICS_AS_OF={args.end}")


if __name__ == "__main__":
    main()
