"""Seeded generator of a fake engineering organisation, in the real GitHub, PagerDuty and Jira JSON shapes (and,
optionally, Opsgenie, GitLab, GitHub Actions and Jenkins).

Half the services are run "you build it you run it", half "ops run it", and a few move from the second
model to the first half-way through. Each model has its own behaviour (`Behaviour`), tuned so that the figures
computed with the definitions of docs/metrics.md land in the playbook's Table 1 bands. Everything is drawn from
`random.Random` instances seeded from `seed`, so the same arguments always give byte-identical payloads.

Times are epoch seconds (UTC) inside this module and rendered in each API's own format at the edges.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import gc
import hashlib
import json
import math
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple

YBIYRI = "you_build_it_you_run_it"
OPS = "ops_run_it"
OWNER = "acme"
GITHUB_API = "https://api.github.com"
PD_API = "https://api.pagerduty.com"
PD_WEB = "https://acme.pagerduty.com"
JIRA_SITE = "https://acme.atlassian.net"
OPSGENIE_WEB = "https://acme.app.opsgenie.com"
REVIEW_TYPE = "Post-incident review"
REVIEW_LABEL = "postmortem"
ACTION_LABEL = "postmortem-action"
INCIDENT_LINK_FIELD = "customfield_10042"

MINUTE, HOUR, DAY = 60, 3600, 86400
WEEK = 7 * DAY


def gh_time(s: int) -> str:
    """GitHub and PagerDuty style timestamp, e.g. 2022-01-05T04:36:28Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))


def jira_time(s: int) -> str:
    """Jira style timestamp, e.g. 2021-12-23T11:26:21.000+0000."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(s))


def _ms_time(s: int, ms: int = 0) -> str:
    """Millisecond UTC timestamp, e.g. 2024-01-05T04:36:28.000Z (Opsgenie, GitLab)."""
    return f"{gh_time(s)[:-1]}.{ms:03d}Z"


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _date(s: int) -> dt.date:
    return dt.datetime.fromtimestamp(s, dt.UTC).date()


# ----------------------------------------------------------------------------------------------------
# Behaviour of each operating model: the numbers that make Table 1
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """How a team under one operating model ships and runs a service."""

    deploys_per_week: tuple[float, float]  # per-service rate, drawn uniformly
    changes_per_deploy: tuple[int, ...]  # mainline changes (PRs or direct pushes) per deployment, drawn from
    merge_to_deploy_h: float  # YBIYRI: median hours from merge to deployment request (ops: uniform in the cycle)
    pr_open_h: float  # median hours a PR stays open
    commits_per_pr: tuple[int, int]
    direct_push_share: float
    deploy_minutes: tuple[float, float]
    failure_share: float  # production deployments whose first attempt fails
    abandon_share: float  # failed deployments not retried: their changes wait for the next one
    incident_gap_d: tuple[float, float]  # days from one fresh incident to the next, drawn uniformly; at most
    # 65 so every 90-day window (and the whole weeks inside it) has downtime
    ttr_median_h: float
    ttr_sigma: float
    ttr_clip_h: tuple[float, float]
    change_failure_share: float  # incidents triggered within a day after a production deployment
    ack_median_min: float
    review_share: float  # resolved incidents that get a post-incident review
    no_action_share: float  # published reviews that agree no improvement action
    fix_share: float  # reviewed incidents whose actions remove the cause; the rest may repeat (REPEAT_SHARE)
    insight_median_h: float  # review published - incident resolved
    actions_per_review: tuple[int, int]
    action_median_d: float
    action_sigma: float
    action_clip_d: tuple[float, float]


BEHAVIOUR: dict[str, Behaviour] = {
    YBIYRI: Behaviour(
        deploys_per_week=(1.5, 4.5),
        changes_per_deploy=(1, 1, 1, 2),
        merge_to_deploy_h=2.0,
        pr_open_h=5.0,
        commits_per_pr=(1, 4),
        direct_push_share=0.05,
        deploy_minutes=(3, 12),
        failure_share=0.08,
        abandon_share=0.1,
        incident_gap_d=(35, 65),  # its fixes hold, so a service rarely pages twice in 30 days
        ttr_median_h=0.8,
        ttr_sigma=0.9,
        ttr_clip_h=(0.25, 12),  # 15 minutes: one incident alone keeps a 90-day window below 99.99 %
        change_failure_share=0.4,
        ack_median_min=4,
        review_share=0.95,  # the team that was paged reviews nearly every incident
        no_action_share=0.05,
        fix_share=0.85,
        insight_median_h=30,
        actions_per_review=(1, 3),
        action_median_d=2.5,
        action_sigma=0.8,
        action_clip_d=(0.1, 30),
    ),
    OPS: Behaviour(
        deploys_per_week=(0.3, 0.6),
        changes_per_deploy=tuple(range(5, 11)),  # a release batches a fortnight or a month of work
        merge_to_deploy_h=0.0,
        pr_open_h=40.0,
        commits_per_pr=(1, 4),
        direct_push_share=0.06,
        deploy_minutes=(20, 75),
        failure_share=0.15,
        abandon_share=0.4,
        incident_gap_d=(15, 35),
        ttr_median_h=10,
        ttr_sigma=0.7,
        ttr_clip_h=(1, 60),
        change_failure_share=0.6,
        ack_median_min=25,
        review_share=0.6,  # an operations team restores service and moves on to the next ticket
        no_action_share=0.3,  # the review ends at a workaround: nothing for the developers to do
        fix_share=0.4,  # actions land late, in someone else's backlog, so the cause often survives
        insight_median_h=50,
        actions_per_review=(1, 3),
        action_median_d=45,
        action_sigma=0.5,
        action_clip_d=(5, 200),
    ),
}

# Unfixed causes (no review, or actions that did not remove the cause) recur this often, a few days to weeks after
# the incident resolved: clusters of repeats under Ops Run It, few under You Build It You Run It.
REPEAT_SHARE = 0.6
REPEAT_AFTER_D = (1, 25)

# Downtime of a service over any 90-day window stays inside these bounds (availability 95 % .. 99.99 %).
MAX_DOWNTIME_90D = 100 * HOUR
MIN_DOWNTIME_90D = 14 * MINUTE


# ----------------------------------------------------------------------------------------------------
# Catalog
# ----------------------------------------------------------------------------------------------------

_SERVICES = [  # (name, team, jira project)
    ("checkout", "payments", "CHK"),
    ("payments", "payments", "PAY"),
    ("basket", "storefront", "BSK"),
    ("catalog", "storefront", "CAT"),
    ("accounts", "customer", "ACC"),
    ("inventory", "fulfilment", "INVT"),
    ("search", "storefront", "SRCH"),
    ("identity", "customer", "IDN"),
    ("shipping", "fulfilment", "SHP"),
    ("invoicing", "payments", "INV"),
    ("notifications", "customer", "NTF"),
    ("orders", "fulfilment", "ORD"),
    ("pricing", "fulfilment", "PRC"),
    ("recommendations", "storefront", "REC"),
    ("fraud-detection", "payments", "FRD"),
    ("loyalty", "customer", "LOY"),
    ("reviews", "storefront", "REV"),
    ("media", "platform", "MED"),
    ("gateway", "platform", "GW"),
    ("reporting", "platform", "RPT"),
]


@dataclass(frozen=True)
class Service:
    """One service of the catalog, as the config file declares it."""

    name: str
    team: str
    availability_target: float
    operating_model: tuple[tuple[str, dt.date], ...]  # (model, effective from), in date order
    github_repo: str
    pagerduty_service_id: str | None  # None when the service pages through Opsgenie instead
    jira_project: str
    github_environment: str = "production"
    github_branch: str = "main"
    opsgenie_team: str | None = None
    # Where production deployments are read (DEPLOYMENT_SOURCES). "gitlab" also moves the code: the project has
    # the path `github_repo` names, and GitHub has nothing of the service.
    deployment_source: str = "github"
    actions_job: str | None = None  # the job the catalog names inside the Actions run, if any

    @property
    def jenkins_job(self) -> str:
        """Full name of the Jenkins job that deploys to production (folder `deploy`)."""
        return f"deploy/{self.name}-production"

    def model_at(self, s: int) -> str:
        """Operating model in effect at epoch second `s`."""
        day = _date(s)
        model = self.operating_model[0][0]
        for m, since in self.operating_model:
            if since <= day:
                model = m
        return model


@dataclass
class GitHubRepo:
    """What the GitHub API knows about one repository, in the shapes of its list endpoints."""

    full_name: str
    deployments: list[dict] = field(default_factory=list)  # newest first
    statuses: dict[int, list[dict]] = field(default_factory=dict)  # deployment id -> statuses, newest first
    pulls: list[dict] = field(default_factory=list)  # newest created first
    pull_commits: dict[int, list[dict]] = field(default_factory=dict)  # PR number -> commits, oldest first
    commits: list[dict] = field(default_factory=list)  # reachable from main, git-log order (newest first)


# The environment variables the sample catalog's `env:` entries name, by the server's credential keys.
TOKEN_VARIABLES = {
    "github": "SAMPLE_GITHUB_TOKEN",
    "pagerduty": "SAMPLE_PAGERDUTY_TOKEN",
    "jira_user": "SAMPLE_JIRA_USER",
    "jira": "SAMPLE_JIRA_TOKEN",
    "opsgenie": "SAMPLE_OPSGENIE_TOKEN",
    "gitlab": "SAMPLE_GITLAB_TOKEN",
    "jenkins_user": "SAMPLE_JENKINS_USER",
    "jenkins": "SAMPLE_JENKINS_TOKEN",
}
_SAMPLE_USERS = {"jira_user": "sample@example.com", "jenkins_user": "sample-bot"}


def sample_tokens() -> dict[str, str]:
    """Fresh random credentials for every source of the sample server (`SampleServer(tokens=...)`)."""
    return {key: _SAMPLE_USERS.get(key) or secrets.token_hex(8) for key in TOKEN_VARIABLES}


def token_environment(tokens: dict[str, str]) -> dict[str, str]:
    """The environment variables through which the sample catalog reads `tokens`."""
    return {TOKEN_VARIABLES[key]: value for key, value in tokens.items()}


@dataclass
class Organisation:
    """A generated organisation: its catalog and every source's records."""

    seed: int
    start: dt.date
    end: dt.date  # exclusive: data covers [start, end)
    services: list[Service]
    github: dict[str, GitHubRepo] = field(repr=False)  # by "owner/name"
    pagerduty_incidents: list[dict] = field(repr=False)  # oldest first
    pagerduty_log_entries: list[dict] = field(repr=False)  # oldest first
    jira_issues: list[dict] = field(repr=False)  # reviews and actions, oldest first
    # Only when generated with opsgenie_services > 0 (see the Opsgenie section below).
    opsgenie_alerts: list[dict] = field(default_factory=list, repr=False)  # oldest first
    opsgenie_incidents: list[dict] = field(default_factory=list, repr=False)  # oldest first
    opsgenie_teams: dict[str, str] = field(default_factory=dict, repr=False)  # team name -> team id
    # The teams behind the services and the pager (the catalog's `teams`), and PagerDuty's users with their teams.
    teams: list[dict] = field(default_factory=list, repr=False)
    pagerduty_users: list[dict] = field(default_factory=list, repr=False)
    # Only when generated with source_mix or deployment_source (see the GitLab, GitHub Actions and Jenkins section).
    gitlab: dict[str, GitLabProject] = field(default_factory=dict, repr=False)  # by path "acme/<service>"
    github_actions: dict[str, ActionsRepo] = field(default_factory=dict, repr=False)  # by repo "acme/<service>"
    jenkins: dict[str, JenkinsJob] = field(default_factory=dict, repr=False)  # by full name "deploy/<service>-..."

    def service(self, name: str) -> Service:
        """The catalog entry called `name`."""
        return next(s for s in self.services if s.name == name)

    def history_days_from(self, today: dt.date) -> int:
        """Days back from `today` that reach the organisation's first day, whatever the time of day (at least 1)."""
        return max(1, (today - self.start).days + 1)

    def config_yaml(self, base_url: str, today: dt.date | None = None) -> str:
        """The catalog config (CONTRACTS.md format) for a sample server at `base_url`; no `warehouse:`.

        With `today`, PagerDuty's `history_days` reaches back to the organisation's start: the connector counts a
        first sync's history back from the real now (730 days by default), so an organisation whose history ends
        in the past would otherwise lose its first incidents (and the reviews linked to them get quarantined).
        """
        base = base_url.rstrip("/")
        used = {s.deployment_source for s in self.services}
        on_github = used != {"gitlab"}
        history = f", history_days: {self.history_days_from(today)}" if today else ""
        lines = [
            "timezone: UTC",
            "window_days: 90",
            f"currency: {SAMPLE_COSTS['currency']}",
            "sources:",
            *([f"  github:    {{api_url: {base}/github, token: env:SAMPLE_GITHUB_TOKEN}}"] if on_github else []),
            f"  pagerduty: {{api_url: {base}/pagerduty, token: env:SAMPLE_PAGERDUTY_TOKEN{history}}}",
            "  jira:",
            f"    api_url: {base}/jira",
            "    user: env:SAMPLE_JIRA_USER",
            "    token: env:SAMPLE_JIRA_TOKEN",
            f"    reviews: {{issue_type: {REVIEW_TYPE}, label: {REVIEW_LABEL}}}",
            f"    actions: {{label: {ACTION_LABEL}}}",
            f"    incident_link: {{field: {INCIDENT_LINK_FIELD}}}",
        ]
        if self.opsgenie_teams:
            lines.append(f"  opsgenie:  {{api_url: {base}/opsgenie, token: env:SAMPLE_OPSGENIE_TOKEN}}")
        if "gitlab" in used:
            lines.append(f"  gitlab: {{api_url: {base}/gitlab/api/v4, token: env:SAMPLE_GITLAB_TOKEN}}")
        if "github_actions" in used:
            lines.append(f"  github_actions: {{api_url: {base}/github, token: env:SAMPLE_GITHUB_TOKEN}}")
        if "jenkins" in used:
            credentials = "user: env:SAMPLE_JENKINS_USER, token: env:SAMPLE_JENKINS_TOKEN"
            lines.append(f"  jenkins: {{api_url: {base}/jenkins, {credentials}}}")
        lines += self._teams_yaml()
        lines.append("services:")
        for s in self.services:
            lines += [
                f"  - name: {s.name}",
                f"    team: {s.team}",
                f"    availability_target: {s.availability_target}",
                "    operating_model:",
                *(f"      - {{model: {m}, from: {since.isoformat()}}}" for m, since in s.operating_model),
                *self._code_and_deployments_yaml(s),
                f"    pagerduty: {{service_id: {s.pagerduty_service_id}}}"
                if s.opsgenie_team is None
                else f"    opsgenie: {{team: {s.opsgenie_team}}}",
                f"    jira: {{project: {s.jira_project}}}",
                f"    costs: {{unavailability_per_hour: {SAMPLE_COSTS['unavailability_per_hour']},"
                f" delay_per_week: {SAMPLE_COSTS['delay_per_week']}}}",
            ]
        return "\n".join(lines) + "\n"

    def _teams_yaml(self) -> list[str]:
        """The catalog's `teams`: kind, time zone, working hours, pager teams and costs of every team.

        A service's Opsgenie team is listed under the team that answers its alerts under its latest operating model
        (Opsgenie does not say which team a responder is on).
        """
        if not self.teams:
            return []
        answering: dict[str, list[str]] = {}
        for s in self.services:
            if s.opsgenie_team is not None:
                team = "operations" if s.operating_model[-1][0] == OPS else s.team
                answering.setdefault(team, []).append(s.opsgenie_team)
        lines = ["teams:"]
        for t in self.teams:
            hours = t["working_hours"]
            costs = SAMPLE_COSTS[t["kind"]]
            lines += [
                f"  - name: {t['name']}",
                f"    kind: {t['kind']}",
                f"    time_zone: {t['time_zone']}",
                f"    working_hours: {{days: [{', '.join(hours['days'])}], start: '{hours['start']}',"
                f" end: '{hours['end']}'}}",
                f"    pagerduty_team_ids: [{', '.join(t['pagerduty_team_ids'])}]",
                *([f"    opsgenie_teams: [{', '.join(answering[t['name']])}]"] if t["name"] in answering else []),
                f"    costs: {{hourly: {costs['hourly']},"
                f" on_call_allowance_per_week: {costs['on_call_allowance_per_week']}}}",
            ]
        return lines

    @staticmethod
    def _code_and_deployments_yaml(s: Service) -> list[str]:
        """The mappings of where a service's code and production deployments are read."""
        if s.deployment_source == "gitlab":
            return [f"    gitlab: {{project: {s.github_repo}, environment: production, branch: main}}"]
        lines = [
            f"    github: {{repo: {s.github_repo}, environment: {s.github_environment}, branch: {s.github_branch}}}"
        ]
        if s.deployment_source == "github_actions":
            job = f", job: {s.actions_job}" if s.actions_job else ""
            lines += [
                "    deployment_source: github_actions",
                f"    github_actions: {{repo: {s.github_repo}, workflow: {WORKFLOW_FILE}, branch: main{job}}}",
            ]
        elif s.deployment_source == "jenkins":
            lines += ["    deployment_source: jenkins", f"    jenkins: {{jobs: [{s.jenkins_job}]}}"]
        return lines

    def counts(self) -> dict[str, int]:
        """Number of records per stream (the raw tables of CONTRACTS.md)."""
        repos = self.github.values()
        counts = {
            "github.deployments": sum(len(r.deployments) for r in repos),
            "github.deployment_statuses": sum(len(v) for r in repos for v in r.statuses.values()),
            "github.pull_requests": sum(len(r.pulls) for r in repos),
            "github.pull_commits": sum(len(v) for r in repos for v in r.pull_commits.values()),
            "github.commits": sum(len(r.commits) for r in repos),
            "pagerduty.incidents": len(self.pagerduty_incidents),
            "pagerduty.log_entries": len(self.pagerduty_log_entries),
            "pagerduty.users": len(self.pagerduty_users),
            "jira.reviews": sum(REVIEW_LABEL in i["fields"]["labels"] for i in self.jira_issues),
            "jira.actions": sum(ACTION_LABEL in i["fields"]["labels"] for i in self.jira_issues),
        }
        return counts | self._opsgenie_counts() | self._ci_counts()

    def _opsgenie_counts(self) -> dict[str, int]:
        if not self.opsgenie_teams:
            return {}
        return {
            "opsgenie.alerts": len(self.opsgenie_alerts),
            "opsgenie.incidents": len(self.opsgenie_incidents),
        }

    def _ci_counts(self) -> dict[str, int]:
        counts = {}
        if self.gitlab:
            projects = self.gitlab.values()
            counts |= {
                "gitlab.merge_requests": sum(len(p.merge_requests) for p in projects),
                "gitlab.merge_request_commits": sum(len(v) for p in projects for v in p.merge_request_commits.values()),
                "gitlab.commits": sum(len(p.commits) for p in projects),
                "gitlab.deployments": sum(len(p.deployments) for p in projects),
            }
        if self.github_actions:
            repos = self.github_actions.values()
            counts |= {
                "github_actions.workflow_runs": sum(len(run) for r in repos for run in r.runs),  # one per attempt
                "github_actions.jobs": sum(len(v) for r in repos for v in r.jobs.values()),
            }
        if self.jenkins:
            counts["jenkins.builds"] = sum(len(j.builds) for j in self.jenkins.values())
        return counts

    def to_json(self) -> str:
        """Canonical JSON of the whole organisation (for determinism checks and fixtures)."""
        doc = {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "services": [_service_doc(s) for s in self.services],
            "github": {
                k: {**r.__dict__, "statuses": {str(i): v for i, v in r.statuses.items()}}
                | {"pull_commits": {str(n): v for n, v in r.pull_commits.items()}}
                for k, r in self.github.items()
            },
            "pagerduty": {"incidents": self.pagerduty_incidents, "log_entries": self.pagerduty_log_entries},
            "jira": self.jira_issues,
        }
        if self.opsgenie_teams:
            doc["opsgenie"] = {"alerts": self.opsgenie_alerts, "incidents": self.opsgenie_incidents,
                               "teams": self.opsgenie_teams}  # fmt: skip
        if self.gitlab:
            doc["gitlab"] = {
                k: p.__dict__ | {"merge_request_commits": {str(n): v for n, v in p.merge_request_commits.items()}}
                for k, p in self.gitlab.items()
            }
        if self.github_actions:
            doc["github_actions"] = {k: r.__dict__ for k, r in self.github_actions.items()}
        if self.jenkins:
            doc["jenkins"] = {k: j.__dict__ for k, j in self.jenkins.items()}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _service_doc(s: Service) -> dict:
    """A service in the canonical JSON. Fields added with the CI renderings are left out at their defaults, so an
    organisation generated without them keeps the bytes it always had."""
    doc = {**s.__dict__, "operating_model": [[m, d.isoformat()] for m, d in s.operating_model]}
    for f in fields(Service):
        if f.name in ("deployment_source", "actions_job") and doc[f.name] == f.default:
            del doc[f.name]
    return doc


# ----------------------------------------------------------------------------------------------------
# People
# ----------------------------------------------------------------------------------------------------

_FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas", "Kemi", "Liam"]
_FIRST += ["Maya", "Nikhil", "Olivia", "Pablo", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Wen", "Yara", "Zoe"]
_LAST = ["Adams", "Bauer", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Khan"]
_LAST += ["Lopez", "Murphy", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber"]


@dataclass(frozen=True)
class Person:
    """Someone who commits, deploys, answers pages and writes reviews, as each source shows them."""

    name: str
    email: str
    gh: dict  # GitHub simple-user object
    pd: dict  # PagerDuty user_reference
    jira: dict  # Jira user


def _gh_user(login: str, uid: int, kind: str = "User") -> dict:
    # Trimmed simple-user: the real one adds a dozen *_url templates that nothing reads (and that would triple
    # the size of every commit and deployment page).
    return {
        "login": login,
        "id": uid,
        "node_id": base64.b64encode(f"04:{kind}{uid}".encode()).decode(),
        "url": f"{GITHUB_API}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": kind,
        "site_admin": False,
    }


def _ref(kind: str, pid: str, summary: str, path: str, web: str | None) -> dict:
    """A PagerDuty `*_reference` object."""
    ref = {"id": pid, "type": f"{kind}_reference", "summary": summary, "self": f"{PD_API}/{path}/{pid}"}
    if web is not None:
        ref["html_url"] = f"{PD_WEB}/{web}/{pid}"
    return ref


class _Ids:
    """PagerDuty-style identifiers drawn from `rng`, unique among all those drawn with the same `used` set."""

    def __init__(self, rng: random.Random, used: set[str] | None = None) -> None:
        self.rng = rng
        self.used: set[str] = set() if used is None else used

    def pd(self, prefix: str = "P", length: int = 7) -> str:
        while True:
            pid = prefix + "".join(self.rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=length - 1))
            if pid not in self.used:
                self.used.add(pid)
                return pid


class _People:
    """Developers per team, the operations team, and the bots."""

    def __init__(self, rng: random.Random, ids: _Ids, teams: list[str]) -> None:
        names = [f"{f} {last}" for f in _FIRST for last in _LAST]
        rng.shuffle(names)
        self.teams: dict[str, list[Person]] = {}
        for team in [*teams, "operations"]:
            self.teams[team] = [self._person(rng, ids, names.pop()) for _ in range(rng.randint(4, 7))]
        self.web_flow = _gh_user("web-flow", 19864447)  # GitHub's committer of merges made in the UI
        self.actions_bot = _gh_user("github-actions[bot]", 41898282, "Bot")
        self.team_refs = {t: _ref("team", ids.pd(), t.title(), "teams", "teams") for t in self.teams}
        self.policies = {
            t: _ref(
                "escalation_policy",
                ids.pd(),
                f"{t.title()} on call",
                "escalation_policies",
                "escalation_policies",
            )
            for t in self.teams
        }

    @staticmethod
    def _person(rng: random.Random, ids: _Ids, name: str) -> Person:
        login = name.lower().replace(" ", "-")
        email = name.lower().replace(" ", ".") + "@acme.example"
        account = "".join(rng.choices("0123456789abcdef", k=24))
        jira = {
            "accountId": account,
            "active": True,
            "displayName": name,
            "self": f"{JIRA_SITE}/rest/api/3/user?accountId={account}",
        }
        pd_user = _ref("user", ids.pd(), name, "users", "users")
        return Person(name, email, _gh_user(login, rng.randint(1_000_000, 99_999_999)), pd_user, jira)


# What the sample organisation assumes things cost (the catalog's `costs`): the same for every service, so the
# operating models' costs differ only by how their services are delivered and run. An operations engineer costs less
# an hour than a product developer; the operations rota's allowance is larger, and shared over more services.
SAMPLE_COSTS: dict = {
    "currency": "GBP",
    "unavailability_per_hour": 2000,
    "delay_per_week": 1500,
    "product": {"hourly": 95, "on_call_allowance_per_week": 500},
    "operations": {"hourly": 75, "on_call_allowance_per_week": 1500},
}

# Where each team works (by its place in the sorted team names; no random stream is touched, so the histories keep
# their bytes). Operations sits in London; a product team in Berlin or New York shows time zones at work.
_TEAM_ZONES = ("Europe/London", "Europe/Berlin", "Europe/London", "America/New_York")


def _catalog_teams(people: _People) -> list[dict]:
    """The catalog's teams: the product teams owning services and the operations team, with their pager team."""
    product = sorted(t for t in people.teams if t != "operations")
    teams = [
        {"name": t, "kind": "product", "time_zone": _TEAM_ZONES[i % len(_TEAM_ZONES)]} for i, t in enumerate(product)
    ]
    teams.append({"name": "operations", "kind": "operations", "time_zone": "Europe/London"})
    for t in teams:
        t["working_hours"] = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:30"}
        t["pagerduty_team_ids"] = [people.team_refs[t["name"]]["id"]]
    return teams


def _pagerduty_users(people: _People) -> list[dict]:
    """PagerDuty's users (`GET /users?include[]=teams` shape), each with the team they are on call for.

    The first operations engineer is also on the first product team's rota, so a responder in two teams occurs.
    """
    users: dict[str, dict] = {}
    product = sorted(t for t in people.teams if t != "operations")
    shared = [(people.teams["operations"][0], product[0])] if product else []
    for team, members in people.teams.items():
        for person in members:
            ref = person.pd
            users[ref["id"]] = {
                "id": ref["id"],
                "type": "user",
                "summary": person.name,
                "self": ref["self"],
                "html_url": ref["html_url"],
                "name": person.name,
                "email": person.email,
                "time_zone": "Europe/London",
                "color": "green",
                "role": "user",
                "avatar_url": f"https://secure.gravatar.com/avatar/{hashlib.md5(person.email.encode()).hexdigest()}",
                "description": "",
                "invitation_sent": False,
                "job_title": "Engineer",
                "teams": [people.team_refs[team]],
                "contact_methods": [],
                "notification_rules": [],
                "coordinated_incidents": [],
            }
    for person, team in shared:
        users[person.pd["id"]]["teams"].append(people.team_refs[team])
    return sorted(users.values(), key=lambda u: u["id"])


# ----------------------------------------------------------------------------------------------------
# Random helpers
# ----------------------------------------------------------------------------------------------------


def _lognormal(rng: random.Random, median: float, sigma: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, rng.lognormvariate(math.log(median), sigma)))


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _rng(seed: int, *key: object) -> random.Random:
    """A generator of its own for one thing that happens (a service's releases, one planned deployment, ...).

    Keyed by what it draws for rather than taken from a shared stream in turn, so drawing more of something else
    (a longer history, one more service) leaves these draws alone: one more day only adds to the past.
    """
    return random.Random("/".join(str(part) for part in (seed, *key)))


# ----------------------------------------------------------------------------------------------------
# GitHub
# ----------------------------------------------------------------------------------------------------

_VERBS = [
    "Add",
    "Fix",
    "Improve",
    "Refactor",
    "Remove",
    "Update",
    "Speed up",
    "Harden",
    "Simplify",
    "Document",
]
_THINGS = [
    "retry on payment client", "pagination of order history", "cache headers", "feature flag for new flow",
    "metrics for queue depth", "timeout handling", "database index on created_at", "input validation",
    "structured logging", "health check endpoint", "currency rounding", "dependency versions",
    "rate limiting", "error messages", "batch import job", "search ranking", "session expiry", "API docs",
]  # fmt: skip
_FOLLOW_UPS = [
    "Add tests",
    "Address review comments",
    "Fix lint",
    "Tidy up",
    "Handle edge case",
    "Rename variables",
]
_DIRECT = ["Bump version", "Update README", "Fix typo in config", "Update CODEOWNERS", "Rotate test fixtures"]


@dataclass
class _Change:
    """A change to the mainline: a pull request, or a direct push when `strategy` is 'direct'."""

    merged_at: int  # for unmerged pull requests: when they were closed, or last updated if still open
    strategy: str  # merge | squash | rebase | direct | closed (never merged) | open (still open at the end)
    author: Person
    merger: Person
    title: str
    commits: list[tuple[str, int, str]] = field(default_factory=list)  # branch commits: (sha, date, message)
    created_at: int = 0
    number: int = 0
    merge_sha: str | None = None
    main_shas: list[str] = field(default_factory=list)  # what the change put on main's first-parent chain
    updated_at: int = 0  # the pull request's last update
    # Drawn with the change whether or not it is merged by the end, so a longer history leaves them alone: the
    # shas its merge writes on main (one per commit for a rebase), the minutes to the pull request's last update
    # after it closed, and the sha of the test merge an unmerged pull request shows.
    new_shas: list[str] = field(default_factory=list)
    close_delay: int = 0
    test_merge_sha: str = ""


class _Mainline:
    """The commits reachable from `main`, kept in committer-date order so the head at any time is a bisect."""

    def __init__(self) -> None:
        self.dates: list[int] = []  # committer date of each first-parent commit
        self.shas: list[str] = []
        # (committer date, sequence, commit item) of every reachable commit, first-parent or not
        self.items: list[tuple[int, int, dict]] = []

    def head_at(self, s: int) -> str:
        return self.shas[max(0, bisect.bisect_right(self.dates, s) - 1)]

    def add(self, item: dict, date: int, first_parent: bool = True) -> None:
        if first_parent:
            self.dates.append(date)
            self.shas.append(item["sha"])
        self.items.append((date, len(self.items), item))

    def git_log(self) -> list[dict]:
        # Newest first; commits sharing a date (rebase merges) keep children before parents.
        return [item for _, _, item in sorted(self.items, key=lambda x: (x[0], x[1]), reverse=True)]


class _CommitRecord(NamedTuple):
    """A commit as history, before any API renders it; committer None is GitHub's web merge."""

    author: Person
    a_date: int
    committer: Person | None
    c_date: int
    message: str
    parents: list[str]


@dataclass(frozen=True)
class _Attempt:
    """One deployment attempt as history: the same in every rendering (GitHub, GitLab, Actions, Jenkins)."""

    environment: str
    sha: str
    requested: int
    started: int
    finished: int  # when it succeeded or failed; at or after the end while it is still running
    outcome: str  # success | failure, once finished
    plan: int | None  # request time of the planned production deployment it belongs to (a retry shares it); None
    # for staging
    deployer: Person | None  # None: automation (a pipeline triggered by the merge)

    def state(self, end: int) -> str:
        """queued, in_progress, success or failure, as seen at epoch second `end`."""
        return "queued" if self.started >= end else "in_progress" if self.finished >= end else self.outcome

    def last_change(self, end: int) -> int:
        """When the attempt last changed state before `end`."""
        return self.requested if self.started >= end else self.started if self.finished >= end else self.finished


@dataclass
class _History:
    """One service's history, kept after the GitHub rendering so the other sources render the same facts."""

    service: Service
    changes: list[_Change]
    commits: dict[str, _CommitRecord]  # every commit (main and branches), by sha
    git_log: list[str]  # shas reachable from main, newest first
    attempts: list[_Attempt]  # oldest requested first


# How far past the end the plans are drawn. Everything that happens is drawn over a span that ends well after the
# end, the same whatever the end, and then cut at the end: an incident a day after a deployment just past the end,
# a pull request opened before the end and merged after it, a 90-day availability window reaching past the end.
# So a history one day longer only adds what happens in that day (and moves on what was still open).
PLAN_AHEAD = 120 * DAY  # deployments: beyond INCIDENTS_AHEAD plus the 10 days an incident looks for a deployment
CHANGES_AHEAD = 35 * DAY  # changes of deployments up to this far: a pull request stays open at most ~33 days
INCIDENTS_AHEAD = 93 * DAY  # a 90-day window one day further only touches incidents after the end


class _RepoBuilder:
    """Builds one repository's history: deployments first, then the changes they ship, then the git graph."""

    def __init__(self, seed: int, rank: int, people: _People, svc: Service, start: int, end: int) -> None:
        self.seed, self.rank, self.people, self.svc = seed, rank, people, svc
        self.rng = rng = _rng(seed, svc.name)  # the repository's own few draws, a fixed number of them
        self.start, self.end = start, end
        self.api = f"{GITHUB_API}/repos/{svc.github_repo}"
        self.repo = GitHubRepo(svc.github_repo)
        self.repo_id = rng.randint(100_000_000, 900_000_000)
        self.devs = people.teams[svc.team]
        self.prod_success: list[int] = []  # finished at of successful production deployments, past the end too
        self.commits: dict[str, _CommitRecord] = {}
        self.main = _Mainline()
        self.attempts: list[_Attempt] = []  # oldest requested first
        self.deployed: list[tuple[_Attempt, int]] = []  # (attempt, GitHub deployment id)
        self.changes: list[_Change] = []
        # Each repo has a preferred merge strategy but allows the others, as most do.
        favourite = rng.choice(["merge", "squash", "squash", "rebase"])
        self.strategies = [favourite] * 4 + ["merge", "squash", "rebase"]
        self.root_sha = _sha(rng)
        self.first_number = rng.randint(1, 400)
        self.rates = [rng.uniform(*BEHAVIOUR[m].deploys_per_week) for m, _ in svc.operating_model]

    # --- plan ---------------------------------------------------------------------------------------------

    def deployment_plan(self) -> list[int]:
        """Request times of production deployments, from the start to PLAN_AHEAD past the end.

        Each operating model's period draws from its own generator in time order, so a later end only adds
        deployments after the earlier end's plan.
        """
        plan: list[int] = []
        history = [(m, _epoch(d)) for m, d in self.svc.operating_model]
        for i, (model, since) in enumerate(history):
            until = history[i + 1][1] if i + 1 < len(history) else self.end + PLAN_AHEAD
            rng = _rng(self.seed, self.svc.name, "plan", i)
            frm = max(since, self.start)
            if model == YBIYRI:
                plan += self._ybiyri_days(rng, frm, until, self.rates[i])
            else:
                plan += self._ops_releases(rng, frm, until, self.rates[i])
        return plan

    @staticmethod
    def _ybiyri_days(rng: random.Random, frm: int, until: int, rate: float) -> list[int]:
        # Teams deploy on working days, in working hours, whenever a change is ready.
        out = []
        for day in range(frm - frm % DAY, until, DAY):
            if time.gmtime(day).tm_wday < 5:
                out += sorted(day + int(rng.uniform(8.5, 17.5) * HOUR) for _ in range(_poisson(rng, rate / 5)))
        return [t for t in out if frm <= t < until]

    @staticmethod
    def _ops_releases(rng: random.Random, frm: int, until: int, rate: float) -> list[int]:
        # Releases go out in an evening change window on Tuesday to Thursday, every few weeks.
        out, t = [], frm + rng.uniform(0.2, 1.0) * WEEK / rate
        while t < until:
            day = int(t) - int(t) % DAY
            while time.gmtime(day).tm_wday not in (1, 2, 3):
                day += DAY
            out.append(day + int(rng.uniform(19, 21) * HOUR))
            t = day + rng.uniform(0.8, 1.2) * WEEK / rate
        return [t for t in out if t < until]

    def draw(self, plan: list[int]) -> tuple[list[tuple], list[_Change]]:
        """Per planned deployment, from a generator of its own: its attempts, then the changes merged before it.

        Attempts are drawn over the whole plan (incidents follow deployments past the end too); changes for the
        deployments up to CHANGES_AHEAD past the end (a pull request opened before the end may wait for one of
        them). Returns the attempt drafts and the changes seen at the end (see `_seen_at_end`).
        """
        drafts: list[tuple] = []
        changes: list[_Change] = []
        prev = self.start
        for k, t in enumerate(plan):
            rng = _rng(self.seed, self.svc.name, "deployment", k)
            model = self.svc.model_at(t)
            drafts += self._attempt_drafts(rng, t, model)
            if prev < self.end + CHANGES_AHEAD:
                changes += self._changes_before(rng, prev, t, model)
            prev = t
        self.prod_success = sorted(d[3] for d in drafts if d[0] == "production" and d[4] == "success")
        seen = (self._seen_at_end(c) for c in changes)
        return drafts, [c for c in seen if c is not None]

    def _changes_before(self, rng: random.Random, prev: int, t: int, model: str) -> list[_Change]:
        """Changes merged before the deployment at `t`, after the previous one (and a few closed unmerged)."""
        b = BEHAVIOUR[model]
        changes = []
        for _ in range(rng.choice(b.changes_per_deploy)):
            if model == YBIYRI:
                lead = _lognormal(rng, b.merge_to_deploy_h * HOUR, 1.3, 2 * MINUTE, 10 * DAY)
                if t - lead <= prev + MINUTE:
                    lead = (t - prev) * rng.uniform(0.05, 0.95)
                merged = int(t - lead)
            else:  # a release train: merges stop a day or two before the release (code freeze)
                freeze = rng.uniform(1, 2.5) * DAY
                hi = t - freeze if t - freeze - prev > 2 * DAY else t - MINUTE
                merged = int(rng.uniform(prev + MINUTE, hi))
            changes.append(self._change(rng, merged, model))
            # About one pull request in twenty is closed without merging.
            if rng.random() < 0.05:
                changes.append(self._change(rng, int(rng.uniform(prev + MINUTE, t)), YBIYRI, "closed"))
        return [c for c in changes if self.start < c.merged_at]

    def _seen_at_end(self, c: _Change) -> _Change | None:
        """`c` as the end sees it: None before it exists; a pull request opened before the end and merged or
        closed after it is still open, with the commits pushed so far."""
        if c.strategy == "direct":
            return c if c.merged_at < self.end else None
        if c.created_at >= self.end:
            return None
        if c.merged_at < self.end:
            return c
        commits = [x for x in c.commits if x[1] < self.end]
        return replace(c, strategy="open", merged_at=max(c.created_at, commits[-1][1]), commits=commits, main_shas=[])

    def _change(self, rng: random.Random, merged: int, model: str, strategy: str | None = None) -> _Change:
        b = BEHAVIOUR[model]
        author, merger = rng.sample(self.devs, 2)
        if strategy is None:
            strategy = "direct" if rng.random() < b.direct_push_share else rng.choice(self.strategies)
        if strategy == "direct":
            return _Change(merged, "direct", author, author, rng.choice(_DIRECT), new_shas=[_sha(rng)])
        title = f"{rng.choice(_VERBS)} {rng.choice(_THINGS)}"
        opened = max(self.start + MINUTE, merged - int(_lognormal(rng, b.pr_open_h * HOUR, 1.0, 600, 30 * DAY)))
        first = max(self.start + 1, opened - int(_lognormal(rng, HOUR, 1.0, 60, 3 * DAY)))
        n = rng.randint(*b.commits_per_pr)
        dates = sorted(rng.randint(first, first + int((merged - first) * 0.9)) for _ in range(n - 1))
        msgs = [title] + [rng.choice(_FOLLOW_UPS) for _ in dates]
        commits = [(_sha(rng), d, m) for d, m in zip([first, *dates], msgs, strict=True)]
        return _Change(
            merged,
            strategy,
            author,
            merger,
            title,
            commits,
            opened,
            new_shas=[_sha(rng) for _ in commits],
            close_delay=rng.randint(1, 600),
            test_merge_sha=_sha(rng),
        )

    # --- git graph ----------------------------------------------------------------------------------------

    def _commit(
        self,
        sha: str,
        author: Person,
        a_date: int,
        committer: Person | None,
        c_date: int,
        message: str,
        parents: list[str],
    ) -> dict:
        """A commit item as `/commits` and `/pulls/{n}/commits` list it; committer None is GitHub."""
        self.commits[sha] = _CommitRecord(author, a_date, committer, c_date, message, parents)
        c_name, c_email = ("GitHub", "noreply@github.com") if committer is None else (committer.name, committer.email)
        return {
            "url": f"{self.api}/commits/{sha}",
            "sha": sha,
            "node_id": base64.b64encode(f"06:Commit{self.repo_id}:{sha}".encode()).decode(),
            "html_url": f"https://github.com/{self.svc.github_repo}/commit/{sha}",
            "comments_url": f"{self.api}/commits/{sha}/comments",
            "commit": {
                "url": f"{self.api}/git/commits/{sha}",
                "author": {"name": author.name, "email": author.email, "date": gh_time(a_date)},
                "committer": {"name": c_name, "email": c_email, "date": gh_time(c_date)},
                "message": message,
                "tree": {"url": f"{self.api}/git/trees/{sha[::-1]}", "sha": sha[::-1]},
                "comment_count": 0,
                "verification": {
                    "verified": committer is None,
                    "reason": "valid" if committer is None else "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
            "author": author.gh,
            "committer": self.people.web_flow if committer is None else committer.gh,
            "parents": [{"url": f"{self.api}/commits/{p}", "sha": p} for p in parents],
        }

    def build_git(self, changes: list[_Change]) -> _Mainline:
        """Number the pull requests, then replay the merges onto `main` in merge order.

        Pull requests are numbered in opening order (ties by their first commit, which a later end leaves alone),
        so the ones a later end adds come after.
        """
        main = _Mainline()
        self.changes = changes
        prs = sorted((c for c in changes if c.strategy != "direct"), key=lambda c: (c.created_at, c.commits[0][0]))
        for i, c in enumerate(prs):
            c.number = self.first_number + i
        root = self._commit(self.root_sha, self.devs[0], self.start, self.devs[0], self.start, "Initial commit", [])
        main.add(root, self.start)
        for c in sorted(changes, key=lambda c: c.merged_at):
            if c.strategy in ("closed", "open"):
                continue
            head = main.head_at(c.merged_at)
            if c.strategy == "direct":
                item = self._commit(c.new_shas[0], c.author, c.merged_at, c.author, c.merged_at, c.title, [head])
                main.add(item, c.merged_at)
                c.main_shas = [item["sha"]]
                continue
            branch = self._branch_items(c, main.head_at(c.commits[0][1]))
            self.repo.pull_commits[c.number] = branch
            if c.strategy == "merge":
                # Branch commits become reachable from main through the merge commit's second parent.
                for (_, date, _), item in zip(c.commits, branch, strict=True):
                    main.add(item, date, first_parent=False)
                c.merge_sha = c.new_shas[0]
                message = f"Merge pull request #{c.number} from {OWNER}/{self._branch(c)}\n\n{c.title}"
                parents = [head, branch[-1]["sha"]]
                main.add(
                    self._commit(c.merge_sha, c.merger, c.merged_at, None, c.merged_at, message, parents),
                    c.merged_at,
                )
                c.main_shas = [c.merge_sha]
            elif c.strategy == "squash":
                c.merge_sha = c.new_shas[0]
                body = "\n".join(f"* {m}" for _, _, m in c.commits[1:])
                message = f"{c.title} (#{c.number})" + (f"\n\n{body}" if body else "")
                main.add(
                    self._commit(c.merge_sha, c.author, c.merged_at, None, c.merged_at, message, [head]),
                    c.merged_at,
                )
                c.main_shas = [c.merge_sha]
            else:  # rebase: same author, author date and message; new sha; committer date = merge time
                for (_, date, msg), sha in zip(c.commits, c.new_shas, strict=True):
                    c.merge_sha = sha
                    main.add(self._commit(c.merge_sha, c.author, date, None, c.merged_at, msg, [head]), c.merged_at)
                    head = c.merge_sha
                    c.main_shas.append(head)
        for c in prs:
            if c.strategy in ("closed", "open"):
                self.repo.pull_commits[c.number] = self._branch_items(c, main.head_at(c.commits[0][1]))
        self.repo.pulls = [self._pull(c, main) for c in prs][::-1]
        self.repo.commits = main.git_log()
        self.main = main
        return main

    @staticmethod
    def _branch(c: _Change) -> str:
        return f"{c.author.gh['login'].split('-')[0]}/{c.title.lower().replace(' ', '-')[:30]}-{c.number}"

    def _branch_items(self, c: _Change, base: str) -> list[dict]:
        items, parent = [], base
        for sha, date, msg in c.commits:
            items.append(self._commit(sha, c.author, date, c.author, date, msg, [parent]))
            parent = sha
        return items

    def _pull(self, c: _Change, main: _Mainline) -> dict:
        n, merged = c.number, c.strategy in ("merge", "squash", "rebase")
        closed_at = None if c.strategy == "open" else c.merged_at
        updated = c.merged_at + (c.close_delay if c.strategy != "open" else 0)
        c.updated_at = updated
        url = f"{self.api}/pulls/{n}"
        repo_ref = {
            "id": self.repo_id,
            "name": self.svc.name,
            "full_name": self.svc.github_repo,
            "private": True,
            "html_url": f"https://github.com/{self.svc.github_repo}",
            "url": self.api,
        }
        owner = _gh_user(OWNER, 9_000_001, "Organization")
        base_sha = main.head_at(c.created_at)
        return {
            "url": url,
            # Unique in the organisation and the same whatever the end: the service's block, then the number.
            "id": 1_100_000_000 + self.rank * 100_000 + n - self.first_number,
            "node_id": base64.b64encode(f"011:PullRequest{self.repo_id}:{n}".encode()).decode(),
            "html_url": f"https://github.com/{self.svc.github_repo}/pull/{n}",
            "diff_url": f"https://github.com/{self.svc.github_repo}/pull/{n}.diff",
            "patch_url": f"https://github.com/{self.svc.github_repo}/pull/{n}.patch",
            "issue_url": f"{self.api}/issues/{n}",
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.api}/pulls/comments{{/number}}",
            "comments_url": f"{self.api}/issues/{n}/comments",
            "statuses_url": f"{self.api}/statuses/{c.commits[-1][0]}",
            "number": n,
            "state": "open" if c.strategy == "open" else "closed",
            "locked": False,
            "title": c.title,
            "user": c.author.gh,
            "body": f"{c.title}.\n\nTested locally and in CI.",
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": gh_time(c.created_at),
            "updated_at": gh_time(updated),
            "closed_at": None if closed_at is None else gh_time(closed_at),
            "merged_at": gh_time(c.merged_at) if merged else None,
            # Like GitHub, unmerged PRs carry the sha of a test merge that is not on main.
            "merge_commit_sha": c.merge_sha if merged else c.test_merge_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": f"{OWNER}:{self._branch(c)}",
                "ref": self._branch(c),
                "sha": c.commits[-1][0],
                "user": owner,
                "repo": repo_ref,
            },
            "base": {
                "label": f"{OWNER}:main",
                "ref": "main",
                "sha": base_sha,
                "user": owner,
                "repo": repo_ref,
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "draft": False,
        }

    # --- deployments --------------------------------------------------------------------------------------

    def _attempt_drafts(self, rng: random.Random, t: int, model: str) -> list[tuple]:
        """The attempts of the deployment planned at `t`: staging for ~20 % of them, production (a failure
        retried or abandoned). Every draw is made whatever the end, so the next plan's draws never shift.

        Drafts are (environment, requested, started, finished, outcome, plan, deployer, as of): the sha, the
        mainline head at `as of` (a retry ships what the failed attempt shipped), comes with the git graph.
        """
        b = BEHAVIOUR[model]
        staging = rng.random() < 0.2
        staged = int(t - (rng.uniform(0.3, 3) * HOUR if model == YBIYRI else rng.uniform(1, 3) * DAY))
        staging_outcome = "success" if rng.random() < 0.95 else "failure"
        failed, abandoned = rng.random() < b.failure_share, rng.random() < b.abandon_share
        retried = t + int(rng.uniform(*b.deploy_minutes) * MINUTE + rng.uniform(0.2, 3) * HOUR)
        wanted: list[tuple[str, int, str, int | None, int]] = []
        if staging and staged > self.start:
            wanted.append(("staging", staged, staging_outcome, None, staged))
        if failed:
            wanted.append(("production", t, "failure", t, t))
            if not abandoned:
                wanted.append(("production", retried, "success", t, t))
        else:
            wanted.append(("production", t, "success", t, t))
        drafts = []
        for env, at, outcome, plan, as_of in wanted:
            model_then = self.svc.model_at(at)
            operator = rng.choice(self.people.teams["operations"])
            started = at + rng.randint(5, 90)
            minutes = BEHAVIOUR[model_then].deploy_minutes
            finished = started + int(rng.uniform(*minutes) * MINUTE * (0.4 if outcome == "failure" else 1))
            deployer = None if model_then == YBIYRI else operator
            drafts.append((env, at, started, finished, outcome, plan, deployer, as_of))
        return drafts

    def build_deployments(self, drafts: list[tuple], main: _Mainline) -> None:
        """The attempts requested before the end, in request order, each deploying the mainline head."""
        for env, at, started, finished, outcome, plan, deployer, as_of in sorted(drafts, key=lambda d: d[1]):
            if at >= self.end:
                continue
            attempt = _Attempt(env, main.head_at(as_of), at, started, finished, outcome, plan, deployer)
            # Numbered in request order within the service's block: a later end only adds higher ones.
            self.deployed.append((attempt, 700_000_001 + self.rank * 100_000 + len(self.deployed)))
        self._render_deployments()

    def add_nightly_deployments(self) -> None:
        """A nightly production deployment of the head late every evening the service runs You Build It You Run
        It, finishing after midnight: whatever day the history ends on, one is still running at the end.

        Only the CI renderings ask for them: the default organisation keeps its bytes. Each night draws from a
        generator of its own and takes its id from a block no planned deployment uses.
        """
        for day in range(self.start, self.end, DAY):
            if self.svc.model_at(day) != YBIYRI:
                continue
            rng = _rng(self.seed, self.svc.name, "nightly", day)
            t = day + DAY - rng.randint(2 * MINUTE, 25 * MINUTE)
            started = t + rng.randint(5, 90)
            finished = day + DAY + rng.randint(MINUTE, HOUR)
            attempt = _Attempt("production", self.main.head_at(t), t, started, finished, "success", t, None)
            self.deployed.append((attempt, 500_000_001 + self.rank * 100_000 + (day - self.start) // DAY))
        self._render_deployments()

    def _render_deployments(self) -> None:
        """GitHub's deployments (newest first) and statuses of every attempt, in request order."""
        self.deployed.sort(key=lambda x: x[0].requested)
        self.attempts = [attempt for attempt, _ in self.deployed]
        self.repo.deployments, self.repo.statuses = [], {}
        for attempt, did in self.deployed:
            self.repo.deployments.append(self._github_deployment(did, attempt))
        self.repo.deployments.reverse()

    def history(self) -> _History:
        """What happened, for the renderings other than GitHub."""
        return _History(self.svc, self.changes, self.commits, [c["sha"] for c in self.repo.commits], self.attempts)

    def _github_deployment(self, did: int, attempt: _Attempt) -> dict:
        """The GitHub deployment of `attempt`, its statuses stored under `did`."""
        env, sha, t = attempt.environment, attempt.sha, attempt.requested
        creator = self.people.actions_bot if attempt.deployer is None else attempt.deployer.gh
        url = f"{self.api}/deployments/{did}"
        steps = [(t, "queued"), (attempt.started, "in_progress"), (attempt.finished, attempt.outcome)]
        steps = [(s, state) for s, state in steps if s < self.end]
        statuses = []
        for step, (s, state) in enumerate(steps):
            sid = 2_100_000_001 + (did - 500_000_001) * 3 + step  # at most three per deployment
            statuses.append(
                {
                    "url": f"{url}/statuses/{sid}",
                    "id": sid,
                    "node_id": base64.b64encode(f"016:DeploymentStatus{sid}".encode()).decode(),
                    "state": state,
                    "creator": creator,
                    "description": {
                        "queued": "Deployment queued",
                        "in_progress": "Deploying",
                        "success": "Deployment finished successfully.",
                        "failure": "Deployment failed: health checks did not pass",
                    }[state],
                    "environment": env,
                    "target_url": f"https://ci.acme.example/{self.svc.name}/deploy/{did}",
                    "created_at": gh_time(s),
                    "updated_at": gh_time(s),
                    "deployment_url": url,
                    "repository_url": self.api,
                    "environment_url": f"https://{env}.{self.svc.name}.acme.example",
                    "log_url": f"https://ci.acme.example/{self.svc.name}/deploy/{did}/log",
                }
            )
        self.repo.statuses[did] = statuses[::-1]
        return {
            "url": url,
            "id": did,
            "node_id": base64.b64encode(f"010:Deployment{did}".encode()).decode(),
            "sha": sha,
            "ref": "main",
            "task": "deploy",
            "payload": {},
            "original_environment": env,
            "environment": env,
            "description": f"Deploy {sha[:7]} to {env}",
            "creator": creator,
            "created_at": gh_time(t),
            "updated_at": gh_time(steps[-1][0]),
            "statuses_url": f"{url}/statuses",
            "repository_url": self.api,
            "transient_environment": False,
            "production_environment": env == "production",
        }


# ----------------------------------------------------------------------------------------------------
# PagerDuty
# ----------------------------------------------------------------------------------------------------

_INCIDENT_TITLES = [
    "High error rate on {s}", "Latency p99 above SLO on {s}", "{s} health check failing",
    "Elevated 5xx from {s}", "{s} queue backlog growing", "Disk usage above 90% on {s} database",
    "{s} pods crash looping", "Certificate expiry alert for {s}", "Synthetic check failing for {s}",
]  # fmt: skip


@dataclass
class _Incident:
    service: Service
    triggered: int
    acknowledged: int | None
    resolved: int  # may lie beyond the end: then the incident is still open
    model: str
    urgency: str
    priority: str | None
    title: str
    pid: str = ""
    number: int = 0
    html_url: str = ""
    reviewed: bool | None = None  # decided when planned (a repeat follows an unreviewed one); None: by review_share
    log_ids: list[str] = field(default_factory=list)  # PagerDuty's trigger, acknowledge and resolve entries


def _incident_plan(rng: random.Random, svc: Service, deploys: list[int], start: int, end: int) -> list[_Incident]:
    """Incidents of one service: fresh ones every `incident_gap_d`, some shortly after a deployment, and repeats.

    Whether an incident will be reviewed, and whether the review's actions remove its cause, is decided here, since
    it decides what follows: an unfixed cause recurs (REPEAT_SHARE) within REPEAT_AFTER_D days of the incident's
    resolution, and that repeat may go unfixed in turn, so repeats cluster where a team rushes to fix.

    Drawn up to `end`, which the caller puts INCIDENTS_AHEAD past the history's end: whether an incident follows a
    deployment never depends on where the history ends.
    """
    out: list[_Incident] = []
    deploys = sorted(deploys)  # for bisect: retried deployments finish out of order
    t = start + int(rng.uniform(0, 30) * DAY)
    while t < end:
        b = BEHAVIOUR[svc.model_at(t)]
        if rng.random() < b.change_failure_share:
            # the first production deployment in the next ten days breaks something
            i = bisect.bisect_left(deploys, t)
            if i < len(deploys) and deploys[i] < t + 10 * DAY:
                t = deploys[i] + int(rng.uniform(5 * MINUTE, 20 * HOUR))
        inc = _new_incident(rng, svc, t)
        inc.reviewed = rng.random() < b.review_share
        out.append(inc)
        fixed = inc.reviewed and rng.random() < b.fix_share
        if not fixed and rng.random() < REPEAT_SHARE:
            t = inc.resolved + int(rng.uniform(*REPEAT_AFTER_D) * DAY)
        else:
            t = inc.triggered + int(rng.uniform(*b.incident_gap_d) * DAY)
    return out


def _new_incident(rng: random.Random, svc: Service, t: int, ttr: float | None = None) -> _Incident:
    model = svc.model_at(t)
    b = BEHAVIOUR[model]
    if ttr is None:
        ttr = _lognormal(rng, b.ttr_median_h * HOUR, b.ttr_sigma, b.ttr_clip_h[0] * HOUR, b.ttr_clip_h[1] * HOUR)
    ack = None
    if rng.random() < 0.92:  # the rest auto-resolve before anyone acknowledges them
        ack = t + int(min(ttr * 0.8, _lognormal(rng, b.ack_median_min * MINUTE, 0.8, 30, 6 * HOUR)))
    priority = rng.choice(["P1", "P2", "P2", "P3", "P3", "P4", None])
    urgency = "high" if priority in ("P1", "P2") or rng.random() < 0.5 else "low"
    title = rng.choice(_INCIDENT_TITLES).format(s=svc.name)
    return _Incident(svc, t, ack, t + int(ttr), model, urgency, priority, title)


def _downtime(incidents: list[_Incident], lo: int, hi: int) -> int:
    """Length of the union of the incidents' [triggered, resolved) intervals, clipped to [lo, hi)."""
    total, cur_lo, cur_hi = 0, None, None
    for i in sorted(incidents, key=lambda i: i.triggered):
        a, b = max(lo, i.triggered), min(hi, i.resolved)
        if a >= b:
            continue
        if cur_hi is None or a > cur_hi:
            total += 0 if cur_hi is None else cur_hi - cur_lo
            cur_lo, cur_hi = a, b
        else:
            cur_hi = max(cur_hi, b)
    return total + (0 if cur_hi is None else cur_hi - cur_lo)


def _keep_availability_in_band(
    rng: random.Random, svc: Service, incidents: list[_Incident], start: int, end: int
) -> None:
    """Keep every 90-day window's downtime between MIN and MAX: shorten or add incidents where needed.

    With `end` INCIDENTS_AHEAD past the history's end, the window a day more adds only touches incidents after
    the history's end.
    """
    span = min(90 * DAY, end - start)
    for lo in range(start, end - span + 1, DAY):
        hi = lo + span
        for _ in range(20):
            down = _downtime(incidents, lo, hi)
            if down > MAX_DOWNTIME_90D * span / (90 * DAY):
                longest = max(
                    (i for i in incidents if i.triggered < hi and i.resolved > lo),
                    key=lambda i: i.resolved - i.triggered,
                )
                longest.resolved = longest.triggered + int((longest.resolved - longest.triggered) * 0.7)
            elif down < MIN_DOWNTIME_90D * span / (90 * DAY):
                incidents.append(_new_incident(rng, svc, rng.randint(lo, hi - HOUR), max(HOUR / 2, MIN_DOWNTIME_90D)))
            else:
                break


class _PagerDuty:
    def __init__(self, people: _People, services: list[Service], end: int) -> None:
        self.people, self.end = people, end
        self.incidents: list[dict] = []
        self.log_entries: list[dict] = []
        self.service_refs = {
            s.name: _ref("service", s.pagerduty_service_id, s.name.title(), "services", "service-directory")
            for s in services
        }

    def render(self, rng: random.Random, inc: _Incident) -> None:
        """Add `inc` as seen at the end, with its log entries; `rng` is the incident's own (a fixed number of
        draws, whatever its state)."""
        svc, end = inc.service, self.end
        responders = self.people.teams["operations" if inc.model == OPS else svc.team]
        responder = rng.choice(responders)
        team = "operations" if inc.model == OPS else svc.team
        service_ref, team_ref = self.service_refs[svc.name], self.people.team_refs[team]
        acked = inc.acknowledged is not None and inc.acknowledged < end
        resolved = inc.resolved < end
        status = "resolved" if resolved else "acknowledged" if acked else "triggered"
        last_change = inc.resolved if resolved else inc.acknowledged if acked else inc.triggered
        inc_ref = _ref("incident", inc.pid, f"[#{inc.number}] {inc.title}", "incidents", "incidents")

        def entry(kind: str, at: int, agent: dict, channel: str, summary: str, **extra: object) -> dict:
            lid = inc.log_ids[("trigger", "acknowledge", "resolve").index(kind)]
            self.log_entries.append(
                {
                    "id": lid,
                    "type": f"{kind}_log_entry",
                    "summary": summary,
                    "self": f"{PD_API}/log_entries/{lid}?incident_id={inc.pid}",
                    "html_url": f"{PD_WEB}/incidents/{inc.pid}/log_entries/{lid}",
                    "created_at": gh_time(at),
                    "agent": agent,
                    "channel": {"type": channel},
                    "service": service_ref,
                    "incident": inc_ref,
                    "teams": [team_ref],
                    "contexts": [],
                    **extra,
                }
            )
            return {k: v for k, v in self.log_entries[-1].items() if k in ("id", "summary", "self", "html_url")} | {
                "type": f"{kind}_log_entry_reference"
            }

        trigger = entry(
            "trigger",
            inc.triggered,
            service_ref,
            "api",
            "Triggered through the API",
            event_details={"description": inc.title},
        )
        if acked:
            entry("acknowledge", inc.acknowledged, responder.pd, "web_ui", f"Acknowledged by {responder.name}")
        if resolved:
            by = responder.pd if acked else service_ref
            entry(
                "resolve",
                inc.resolved,
                by,
                "web_ui" if acked else "api",
                f"Resolved by {responder.name}" if acked else "Resolved through the API",
            )
        self.incidents.append(
            {
                "id": inc.pid,
                "type": "incident",
                "summary": f"[#{inc.number}] {inc.title}",
                "self": f"{PD_API}/incidents/{inc.pid}",
                "html_url": inc.html_url,
                "incident_number": inc.number,
                "title": inc.title,
                "created_at": gh_time(inc.triggered),
                "updated_at": gh_time(last_change),
                "status": status,
                "incident_key": f"{rng.getrandbits(128):032x}",
                "service": service_ref,
                "assignments": [] if resolved else [{"at": gh_time(inc.triggered), "assignee": responder.pd}],
                "assigned_via": "escalation_policy",
                "last_status_change_at": gh_time(last_change),
                "resolved_at": gh_time(inc.resolved) if resolved else None,
                "first_trigger_log_entry": trigger,
                "alert_counts": {
                    "all": 1,
                    "triggered": 0 if resolved else 1,
                    "resolved": 1 if resolved else 0,
                },
                "is_mergeable": True,
                "incident_type": {"name": "incident_default"},
                "escalation_policy": self.people.policies[team],
                "teams": [team_ref],
                "pending_actions": [],
                "acknowledgements": [{"at": gh_time(inc.acknowledged), "acknowledger": responder.pd}]
                if acked and not resolved
                else [],
                "alert_grouping": None,
                "last_status_change_by": responder.pd if acked else service_ref,
                "priority": None
                if inc.priority is None
                else {
                    "id": f"PRIO{inc.priority[1]}XX",
                    "type": "priority_reference",
                    "summary": inc.priority,
                    "self": f"{PD_API}/priorities/PRIO{inc.priority[1]}XX",
                },
                "resolve_reason": None,
                "conference_bridge": None,
                "incidents_responders": [],
                "responder_requests": [],
                "urgency": inc.urgency,
            }
        )


# ----------------------------------------------------------------------------------------------------
# Jira
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Issue:
    kind: str  # review | action
    service: Service
    created: int
    done: int | None  # resolutiondate; None while draft / open
    summary: str
    person: Person
    incident: _Incident | None = None
    review: _Issue | None = None
    id: str = ""
    key: str = ""
    touched: int = 0  # seconds from creation to the last edit while the issue is open


def _jira_plan(seed: int, people: _People, incidents: list[_Incident], end: int) -> list[_Issue]:
    """Reviews for the resolved incidents planned to be reviewed, and the improvement actions they agree.

    Each incident draws from a generator of its own, everything whatever the end, and only then is cut at the end:
    a later end finds the same reviews and actions, a few more, and the open ones moved on.
    """
    issues: list[_Issue] = []
    for inc in incidents:
        rng = _rng(seed, "review", inc.pid)
        b = BEHAVIOUR[inc.model]
        reviewed = rng.random() < b.review_share
        reviewed = inc.reviewed if inc.reviewed is not None else reviewed
        author = rng.choice(people.teams["operations" if inc.model == OPS else inc.service.team])
        created = inc.resolved + int(rng.uniform(0.5, 20) * HOUR)
        published = inc.resolved + int(_lognormal(rng, b.insight_median_h * HOUR, 0.8, 2 * HOUR, 21 * DAY))
        published = max(published, created + HOUR)
        abandoned_draft = rng.random() < 0.05
        touched = rng.randint(MINUTE, DAY)
        n_actions = 0 if rng.random() < b.no_action_share else rng.randint(*b.actions_per_review)
        if inc.resolved >= end or not reviewed or created >= end:
            continue
        draft = published >= end or abandoned_draft
        review = _Issue(
            "review",
            inc.service,
            created,
            None if draft else published,
            f"Post-incident review: {inc.title} (#{inc.number})",
            author,
            incident=inc,
            touched=touched,
        )
        issues.append(review)
        for _ in range(n_actions):
            a_created = created + int(rng.uniform(0.1, 1.0) * max(HOUR, (published - created)))
            ab = BEHAVIOUR[inc.service.model_at(a_created)]
            took = _lognormal(
                rng,
                ab.action_median_d * DAY,
                ab.action_sigma,
                ab.action_clip_d[0] * DAY,
                ab.action_clip_d[1] * DAY,
            )
            never = rng.random() < 0.04  # some actions are never done
            owner = rng.choice(people.teams[inc.service.team])
            summary = (
                rng.choice(
                    [
                        "Add alert for",
                        "Write runbook for",
                        "Add load test for",
                        "Automate fix for",
                        "Add dashboard for",
                        "Fix root cause of",
                    ]
                )
                + f" {inc.title.lower()}"
            )
            touched = rng.randint(MINUTE, DAY)
            if a_created >= end:
                continue
            done = None if a_created + int(took) >= end or never else a_created + int(took)
            issues.append(
                _Issue("action", inc.service, a_created, done, summary, owner, review=review, touched=touched)
            )
    return issues


def _jira_render(issues: list[_Issue], services: list[Service], end: int) -> list[dict]:
    """Number the issues in creation order (so a later end adds higher ones) and render them as seen at `end`."""
    issues.sort(key=lambda i: i.created)
    per_project: dict[str, int] = {}
    for n, issue in enumerate(issues):
        issue.id = str(10_000 + n)
        per_project[issue.service.jira_project] = per_project.get(issue.service.jira_project, 0) + 1
        issue.key = f"{issue.service.jira_project}-{per_project[issue.service.jira_project]}"
    actions_of: dict[str, list[_Issue]] = {}
    for issue in issues:
        if issue.review is not None:
            actions_of.setdefault(issue.review.key, []).append(issue)
    projects = {s.jira_project: str(10_000 + n) for n, s in enumerate(services)}
    return [_jira_issue(i, actions_of.get(i.key, []), projects, end) for i in issues]


def _jira_status(issue: _Issue) -> dict:
    if issue.done is not None:
        name, cat, cid = "Done", "done", 3
    elif issue.kind == "review":
        name, cat, cid = "Draft", "indeterminate", 4
    else:
        name, cat, cid = "To Do", "new", 2
    return {"name": name, "id": str(10_000 + cid), "statusCategory": {"key": cat, "id": cid}}


def _issue_ref(issue: _Issue) -> dict:
    kind = REVIEW_TYPE if issue.kind == "review" else "Task"
    return {
        "id": issue.id,
        "key": issue.key,
        "self": f"{JIRA_SITE}/rest/api/3/issue/{issue.id}",
        "fields": {"summary": issue.summary, "status": _jira_status(issue), "issuetype": {"name": kind}},
    }


def _jira_issue(issue: _Issue, actions: list[_Issue], projects: dict[str, str], end: int) -> dict:
    svc = issue.service
    relates = {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"}
    if issue.kind == "review":
        links = [{"id": str(20_000 + int(a.id)), "type": relates, "inwardIssue": _issue_ref(a)} for a in actions]
        issuetype, labels = {"id": "10050", "name": REVIEW_TYPE, "subtask": False}, [REVIEW_LABEL]
        description = f"Timeline, impact, contributing factors and actions for {issue.incident.html_url}"
    else:
        links = [{"id": str(20_000 + int(issue.id)), "type": relates, "outwardIssue": _issue_ref(issue.review)}]
        issuetype, labels = {"id": "10002", "name": "Task", "subtask": False}, [ACTION_LABEL]
        description = f"Agreed in {issue.review.key}."
    # Open issues were last edited soon after creation; done ones when they were resolved.
    updated = issue.done if issue.done is not None else min(end - 1, issue.created + issue.touched)
    project = {
        "id": projects[svc.jira_project],
        "key": svc.jira_project,
        "name": svc.name.title(),
        "self": f"{JIRA_SITE}/rest/api/3/project/{svc.jira_project}",
        "simplified": False,
        "style": "classic",
    }
    return {
        "expand": "",
        "id": issue.id,
        "key": issue.key,
        "self": f"{JIRA_SITE}/rest/api/3/issue/{issue.id}",
        "fields": {
            "summary": issue.summary,
            "issuetype": issuetype,
            "labels": labels,
            "project": project,
            "status": _jira_status(issue),
            "resolution": {"name": "Done"} if issue.done is not None else None,
            "created": jira_time(issue.created),
            "updated": jira_time(updated),
            "resolutiondate": jira_time(issue.done) if issue.done is not None else None,
            "assignee": issue.person.jira,
            "reporter": issue.person.jira,
            INCIDENT_LINK_FIELD: issue.incident.html_url if issue.incident is not None else None,
            "issuelinks": links,
            "description": description,
            "watcher": {
                "isWatching": False,
                "self": f"{JIRA_SITE}/rest/api/3/issue/{issue.key}/watchers",
                "watchCount": 1,
            },
            "comment": [],
            "worklog": [],
            "timetracking": {},
        },
    }


# ----------------------------------------------------------------------------------------------------
# Opsgenie (optional addition: only with generate(..., opsgenie_services=k))
# ----------------------------------------------------------------------------------------------------


def _move_to_opsgenie(rng: random.Random, services: list[Service], k: int) -> list[Service]:
    """`k` services page through Opsgenie (team `<service>-oncall`) instead of PagerDuty."""
    chosen = {s.name for s in rng.sample(services, min(k, len(services)))}
    return [
        replace(s, pagerduty_service_id=None, opsgenie_team=f"{s.name}-oncall") if s.name in chosen else s
        for s in services
    ]


class _Opsgenie:
    """Each incident becomes an alert (List Alerts shape); high-priority ones also an incident (v1 shape)."""

    def __init__(self, rng: random.Random, people: _People, services: list[Service], end: int) -> None:
        self.rng, self.people, self.end = rng, people, end
        self.alerts: list[dict] = []
        self.incidents: list[dict] = []
        moved = [s for s in services if s.opsgenie_team is not None]
        self.teams = {s.opsgenie_team: self._uuid() for s in moved}
        self.service_ids = {s.name: self._uuid() for s in moved}  # Opsgenie's own service ids

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def render(self, inc: _Incident) -> None:
        rng, end, svc = self.rng, self.end, inc.service
        inc.pid, inc.number = self._uuid(), 1000 + len(self.alerts)
        inc.html_url = f"{OPSGENIE_WEB}/alert/detail/{inc.pid}"
        responder = rng.choice(self.people.teams["operations" if inc.model == OPS else svc.team])
        acked = inc.acknowledged is not None and inc.acknowledged < end
        closed = inc.resolved < end
        ms = rng.randint(0, 999)
        last = inc.resolved if closed else inc.acknowledged if acked else inc.triggered
        # report.*Time are milliseconds since createdAt, not timestamps (the API's quirk).
        report: dict = {}
        if acked:
            report |= {
                "ackTime": (inc.acknowledged - inc.triggered) * 1000,
                "acknowledgedBy": responder.email,
            }
        if closed:
            report |= {"closeTime": (inc.resolved - inc.triggered) * 1000, "closedBy": responder.email}
        team = {"type": "team", "id": self.teams[svc.opsgenie_team]}
        priority = inc.priority or "P3"
        alert = {
            "id": inc.pid,
            "tinyId": str(inc.number),
            "alias": f"{svc.name}-{inc.number}",
            "message": inc.title,
            "status": "closed" if closed else "open",
            "acknowledged": acked,
            "isSeen": acked or closed,
            "tags": [svc.name, inc.urgency],
            "snoozed": False,
            "count": rng.randint(1, 5),
            "lastOccurredAt": _ms_time(inc.triggered, ms),
            "createdAt": _ms_time(inc.triggered, ms),
            "updatedAt": _ms_time(last, ms),
            "source": rng.choice(["Prometheus", "Datadog", "CloudWatch"]),
            "owner": responder.email if acked or closed else "",
            "priority": priority,
            "responders": [team],
            "integration": {"id": self.teams[svc.opsgenie_team], "name": f"{svc.name} alerts", "type": "API"},
        }
        if report:
            alert["report"] = report
        self.alerts.append(alert)
        if priority in ("P1", "P2"):
            self.incidents.append({
                "id": self._uuid(),
                "tinyId": str(len(self.incidents) + 1),
                "message": inc.title,
                "status": "closed" if closed else "open",
                "tags": [svc.name],
                "createdAt": _ms_time(inc.triggered, ms),
                "updatedAt": _ms_time(last, ms),
                "priority": priority,
                "responders": [team],
                "impactedServices": [self.service_ids[svc.name]],
            })  # fmt: skip


# ----------------------------------------------------------------------------------------------------
# GitLab, GitHub Actions and Jenkins (optional addition: only with generate(..., source_mix=True) or
# generate(..., deployment_source=...)). Each renders the histories the GitHub rendering left behind (the same
# commits, changes, deployment attempts and times); only identifiers and shapes differ, and their own random
# draws (ids, milliseconds, note counts) come from their own streams.
# ----------------------------------------------------------------------------------------------------

DEPLOYMENT_SOURCES = ("github", "github_actions", "gitlab", "jenkins")
GITLAB_WEB = "https://gitlab.com"
JENKINS_WEB = "https://jenkins.acme.example"
WORKFLOW_FILE = "deploy.yml"
DEPLOY_JOB = "Deploy to production"
SHARED_LIBRARY = f"https://github.com/{OWNER}/jenkins-shared-library.git"
# Minutes east of UTC where people commit from: GitLab keeps the committer's offset in commit times.
_UTC_OFFSETS = (0, 0, 60, 60, 120, 180, 330, -240, -300, -420)


def _utc_offset(person: Person) -> int:
    """A fixed offset per person, from the e-mail address (no random stream is touched)."""
    return _UTC_OFFSETS[hashlib.sha256(person.email.encode()).digest()[0] % len(_UTC_OFFSETS)]


def _local_time(s: int, offset_minutes: int) -> str:
    """A time in a UTC offset with milliseconds, e.g. 2021-09-20T09:06:12.000+03:00."""
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    return dt.datetime.fromtimestamp(s, zone).isoformat(timespec="milliseconds")


def _production_runs(h: _History) -> list[list[_Attempt]]:
    """Production attempts grouped by planned deployment (a failure and its retry together), oldest first."""
    runs: dict[int, list[_Attempt]] = {}
    for a in h.attempts:
        if a.environment == "production" and a.plan is not None:
            runs.setdefault(a.plan, []).append(a)
    return [runs[k] for k in sorted(runs)]


class _Counter:
    """Consecutive identifiers from a random start in a service's block of `lo`'s range.

    Each service numbers within a block of its own (by its rank in the catalog), drawn from its own stream, so
    what a later end adds to one service never moves another's identifiers.
    """

    BLOCK = 100_000

    def __init__(self, rng: random.Random, lo: int, rank: int) -> None:
        self.value = rng.randint(lo + rank * self.BLOCK, lo + rank * self.BLOCK + self.BLOCK // 10)

    def __call__(self) -> int:
        self.value += 1
        return self.value


@dataclass
class GitLabProject:
    """What the GitLab API knows about one project, in the shapes of its list endpoints."""

    path: str  # "acme/checkout"
    id: int
    merge_requests: list[dict] = field(default_factory=list)  # oldest created first (ascending iid)
    merge_request_commits: dict[int, list[dict]] = field(default_factory=dict)  # iid -> commits, newest first
    commits: list[dict] = field(default_factory=list)  # reachable from main, newest first, with parent_ids
    deployments: list[dict] = field(default_factory=list)  # ascending id (= requested order)


@dataclass
class ActionsRepo:
    """One repository's `deploy.yml` workflow and its runs, in the GitHub Actions API's shapes."""

    full_name: str
    workflow: dict
    runs: list[list[dict]] = field(default_factory=list)  # newest first; each run's attempts oldest first
    jobs: dict[str, list[dict]] = field(default_factory=dict)  # "<run id>/<attempt>" -> that attempt's jobs


@dataclass
class JenkinsJob:
    """One Pipeline job and its builds, in the shapes of Jenkins' JSON API."""

    full_name: str  # "deploy/checkout-production": folder, then job
    url: str
    builds: list[dict] = field(default_factory=list)  # newest first
    multibranch: bool = False  # its parent is a multibranch project (full name "<project>/<branch>"), not a folder


class _GitLab:
    """Histories as GitLab projects: merge requests, their commits, main's commits, deployments."""

    def __init__(self, seed: int, people: _People, end: int) -> None:
        self.seed, self.end = seed, end
        everyone = [p for team in people.teams.values() for p in team]
        self.users = {p.email: self._user(p, 2_000_000 + 17 * i) for i, p in enumerate(everyone)}

    @staticmethod
    def _user(p: Person, uid: int) -> dict:
        username = p.gh["login"]
        return {
            "id": uid,
            "username": username,
            "name": p.name,
            "state": "active",
            "locked": False,
            "avatar_url": f"{GITLAB_WEB}/uploads/-/system/user/avatar/{uid}/avatar.png",
            "web_url": f"{GITLAB_WEB}/{username}",
        }

    def render(self, h: _History, rank: int) -> GitLabProject:
        """The project `acme/<service>` of history `h`, the service's `rank` in the catalog."""
        path = h.service.github_repo
        # The service's own stream: a fixed number of draws first, then one per merge request in number order.
        self.rng = rng = _rng(self.seed, h.service.name, "gitlab")
        project = GitLabProject(path, rng.randint(10_000_000, 70_000_000))
        environments = {env: rng.randint(1_000_000, 20_000_000) for env in ("production", "staging")}
        self.mr_id = _Counter(rng, 100_000_000, rank)
        self.deployment_id = _Counter(rng, 300_000_000, rank)
        self.job_id = _Counter(rng, 5_000_000_000, rank)
        self.pipeline_id = _Counter(rng, 1_000_000_000, rank)
        # Commits GitLab itself wrote when merging: their committer is the user who merged.
        made_by_merge = {
            sha: c for c in h.changes if c.strategy in ("merge", "squash", "rebase") for sha in c.main_shas
        }
        project.commits = [
            self._commit(h, path, sha, made_by_merge.get(sha)) | {"parent_ids": h.commits[sha].parents}
            for sha in h.git_log
        ]
        for c in sorted((c for c in h.changes if c.strategy != "direct"), key=lambda c: c.number):
            project.merge_requests.append(self._merge_request(project, c))
            # A fast-forward merge rebases the source branch first, so the merge request then holds the rebased
            # commits (those on main); the others keep the branch's own commits.
            shas = c.main_shas if c.strategy == "rebase" else [sha for sha, _, _ in c.commits]
            project.merge_request_commits[c.number] = [
                self._commit(h, path, sha, made_by_merge.get(sha)) for sha in reversed(shas)
            ]
        project.deployments = self._deployments(h, project, environments)
        return project

    def _commit(self, h: _History, path: str, sha: str, change: _Change | None) -> dict:
        rec = h.commits[sha]
        committer = rec.committer or change.merger
        message = rec.message
        if change is not None and change.strategy == "merge":
            branch = _RepoBuilder._branch(change)
            message = (
                f"Merge branch '{branch}' into 'main'\n\n{change.title}\n\nSee merge request {path}!{change.number}"
            )
        elif change is not None and change.strategy == "squash":
            message = change.title  # GitLab's default squash message: the merge request's title
        committed = _local_time(rec.c_date, _utc_offset(committer))
        return {
            "id": sha,
            "short_id": sha[:11],
            "title": message.split("\n", 1)[0],
            "author_name": rec.author.name,
            "author_email": rec.author.email,
            "authored_date": _local_time(rec.a_date, _utc_offset(rec.author)),
            "committer_name": committer.name,
            "committer_email": committer.email,
            "committed_date": committed,
            "created_at": committed,
            "message": message,
            "web_url": f"{GITLAB_WEB}/{path}/-/commit/{sha}",
            "trailers": {},
            "extended_trailers": {},
        }

    def _merge_request(self, project: GitLabProject, c: _Change) -> dict:
        merged = c.strategy in ("merge", "squash", "rebase")
        state = "merged" if merged else "opened" if c.strategy == "open" else "closed"
        author, merger = self.users[c.author.email], self.users[c.merger.email]
        n, web = c.number, f"{GITLAB_WEB}/{project.path}"
        return {
            "id": self.mr_id(),
            "iid": n,
            "project_id": project.id,
            "title": c.title,
            "description": f"{c.title}.\n\nTested locally and in CI.",
            "state": state,
            "imported": False,
            "imported_from": "none",
            "merged_by": merger if merged else None,  # deprecated by GitLab for merge_user, still sent
            "merge_user": merger if merged else None,
            "merged_at": _ms_time(c.merged_at) if merged else None,
            "merge_after": None,
            "prepared_at": _ms_time(c.created_at),
            "closed_by": merger if state == "closed" else None,
            "closed_at": _ms_time(c.merged_at) if state == "closed" else None,
            "created_at": _ms_time(c.created_at),
            "updated_at": _ms_time(c.updated_at),
            "target_branch": "main",
            "source_branch": _RepoBuilder._branch(c),
            "upvotes": 0,
            "downvotes": 0,
            "author": author,
            "assignee": author,
            "assignees": [author],
            "reviewers": [merger],
            "source_project_id": project.id,
            "target_project_id": project.id,
            "labels": [],
            "draft": False,
            "work_in_progress": False,
            "milestone": None,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable" if state == "opened" else "not_open",
            # After a fast-forward merge the source branch is the rebased one, whose tip is on main.
            "sha": c.main_shas[-1] if c.strategy == "rebase" else c.commits[-1][0],
            "merge_commit_sha": c.merge_sha if c.strategy == "merge" else None,
            "squash_commit_sha": c.merge_sha if c.strategy == "squash" else None,
            "user_notes_count": self.rng.randint(0, 6),
            "discussion_locked": None,
            "should_remove_source_branch": True,
            "force_remove_source_branch": True,
            "allow_collaboration": False,
            "allow_maintainer_to_push": False,
            "web_url": f"{web}/-/merge_requests/{n}",
            "references": {"short": f"!{n}", "relative": f"!{n}", "full": f"{project.path}!{n}"},
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "squash": c.strategy == "squash",
            "squash_on_merge": c.strategy == "squash",
            "task_completion_status": {"count": 0, "completed_count": 0},
        }

    def _deployments(self, h: _History, project: GitLabProject, environments: dict[str, int]) -> list[dict]:
        end, web = self.end, f"{GITLAB_WEB}/{project.path}"
        # A retried deploy job runs in the pipeline of the failed one: one pipeline per planned deployment.
        pipelines: dict[tuple[str, int], tuple[int, list[_Attempt]]] = {}
        for a in h.attempts:
            key = (a.environment, a.plan if a.plan is not None else -a.requested)
            if key not in pipelines:
                pipelines[key] = (self.pipeline_id(), [])
            pipelines[key][1].append(a)
        status = {"queued": "created", "in_progress": "running", "success": "success", "failure": "failed"}
        job_status = status | {"queued": "pending"}
        out = []
        for key, (pipeline_id, attempts) in pipelines.items():
            last = attempts[-1]
            pipeline = {
                "id": pipeline_id,
                "iid": pipeline_id % 100_000,
                "project_id": project.id,
                "sha": attempts[0].sha,
                "ref": "main",
                "status": job_status[last.state(end)],
                "source": "push" if attempts[0].deployer is None else "web",
                "created_at": _ms_time(attempts[0].requested),
                "updated_at": _ms_time(last.last_change(end)),
                "web_url": f"{web}/-/pipelines/{pipeline_id}",
            }
            for a in attempts:
                out.append((a, key[0], pipeline))
        deployments = []
        for iid, (a, env, pipeline) in enumerate(sorted(out, key=lambda x: x[0].requested), start=1):
            state = a.state(end)
            rec = h.commits[a.sha]
            user = self.users[(a.deployer or rec.author).email]
            job_id = self.job_id()
            started = a.started < end
            finished = state in ("success", "failure")
            deployable = {
                "id": job_id,
                "status": job_status[state],
                "stage": "deploy",
                "name": f"deploy:{env}",
                "ref": "main",
                "tag": False,
                "coverage": None,
                "allow_failure": False,
                "created_at": _ms_time(a.requested),
                "started_at": _ms_time(a.started) if started else None,
                "finished_at": _ms_time(a.finished) if finished else None,
                "duration": float(a.finished - a.started) if finished else None,
                "queued_duration": float(a.started - a.requested) if started else None,
                "user": user,
                "commit": {
                    "id": a.sha,
                    "short_id": a.sha[:8],
                    "title": rec.message.split("\n", 1)[0],
                    "message": rec.message,
                    "author_name": rec.author.name,
                    "author_email": rec.author.email,
                    "created_at": _local_time(rec.c_date, _utc_offset(rec.committer or rec.author)),
                },
                "pipeline": pipeline,
                "runner": None,
                "project": {"ci_job_token_scope_enabled": False},
                "web_url": f"{web}/-/jobs/{job_id}",
                "failure_reason": "script_failure" if state == "failure" else None,
            }
            deployments.append({
                "id": self.deployment_id(),
                "iid": iid,
                "ref": "main",
                "sha": a.sha,
                "status": status[state],
                "created_at": _ms_time(a.requested),
                "updated_at": _ms_time(a.last_change(end)),
                "user": user,
                "environment": {"id": environments[env], "name": env,
                                "external_url": f"https://{env}.{h.service.name}.acme.example"},
                "deployable": deployable,
            })  # fmt: skip
        return deployments


class _Actions:
    """Production deployments as runs of a `deploy.yml` workflow on `main`: a retry is a re-run (attempt 2)."""

    def __init__(self, seed: int, people: _People, end: int) -> None:
        self.seed, self.people, self.end = seed, people, end

    def render(self, h: _History, start: int, rank: int) -> ActionsRepo:
        """The workflow runs (every attempt) and jobs of history `h`, the service's `rank` in the catalog."""
        full = h.service.github_repo
        api = f"{GITHUB_API}/repos/{full}"
        self.rng = _rng(self.seed, h.service.name, "github-actions")
        wid = _Counter(self.rng, 60_000_000, rank)()
        # Run i's attempt n has check suite and job `first + 2 i + n - 1` (a run has at most two attempts), so a
        # re-run a later end adds to the last run moves no other run's.
        self.run_id = _Counter(self.rng, 9_000_000_000, rank)
        self.first_job = _Counter(self.rng, 25_000_000_000, rank).value
        self.first_suite = _Counter(self.rng, 20_000_000_000, rank).value
        created = _local_time(start - self.rng.randint(30, 400) * DAY, -480)
        workflow = {
            "id": wid,
            "node_id": base64.b64encode(f"08:Workflow{wid}".encode()).decode(),
            "name": "Deploy",
            "path": f".github/workflows/{WORKFLOW_FILE}",
            "state": "active",
            "created_at": created,
            "updated_at": created,
            "url": f"{api}/actions/workflows/{wid}",
            "html_url": f"https://github.com/{full}/blob/main/.github/workflows/{WORKFLOW_FILE}",
            "badge_url": f"https://github.com/{full}/workflows/Deploy/badge.svg",
        }
        repo = ActionsRepo(full, workflow)
        repo_ref = {
            "id": self.rng.randint(100_000_000, 900_000_000),
            "name": h.service.name,
            "full_name": full,
            "private": True,
            "owner": _gh_user(OWNER, 9_000_001, "Organization"),
            "html_url": f"https://github.com/{full}",
            "description": None,
            "fork": False,
            "url": api,
        }
        repo_ref["node_id"] = base64.b64encode(f"010:Repository{repo_ref['id']}".encode()).decode()
        number = self.rng.randint(1, 300)
        for i, attempts in enumerate(_production_runs(h)):
            run_id, number = self.run_id(), number + 1
            run = []
            for n, a in enumerate(attempts, start=1):
                self.slot = 2 * i + n - 1
                run.append(self._attempt(h, api, workflow, repo_ref, run_id, number, n, attempts))
                repo.jobs[f"{run_id}/{n}"] = [self._job(h, api, run_id, n, a)]
            repo.runs.append(run)
        repo.runs.reverse()
        return repo

    def _actor(self, h: _History, a: _Attempt) -> dict:
        # A merge to main starts the run as its pusher; a release is started by hand by whoever deploys.
        return (a.deployer or h.commits[a.sha].author).gh

    def _attempt(
        self,
        h: _History,
        api: str,
        workflow: dict,
        repo_ref: dict,
        run_id: int,
        number: int,
        n: int,
        attempts: list[_Attempt],
    ) -> dict:
        a, first, end = attempts[n - 1], attempts[0], self.end
        state = a.state(end)
        rec = h.commits[a.sha]
        url = f"{api}/actions/runs/{run_id}"
        suite = self.first_suite + self.slot
        return {
            "id": run_id,
            "name": workflow["name"],
            "node_id": base64.b64encode(f"011:WorkflowRun{run_id}".encode()).decode(),
            "check_suite_id": suite,
            "check_suite_node_id": base64.b64encode(f"014:CheckSuite{suite}".encode()).decode(),
            "head_branch": "main",
            "head_sha": a.sha,
            "path": workflow["path"],
            "run_number": number,
            "event": "push" if first.deployer is None else "workflow_dispatch",
            "display_title": rec.message.split("\n", 1)[0],
            "status": {"queued": "queued", "in_progress": "in_progress"}.get(state, "completed"),
            "conclusion": state if state in ("success", "failure") else None,
            "workflow_id": workflow["id"],
            "url": url,
            "html_url": f"https://github.com/{h.service.github_repo}/actions/runs/{run_id}",
            "pull_requests": [],
            "created_at": gh_time(first.requested),  # a re-run keeps the run's creation time
            "updated_at": gh_time(a.last_change(end)),
            "actor": self._actor(h, first),
            "run_attempt": n,
            "referenced_workflows": [],
            "run_started_at": gh_time(a.requested),  # ... and resets when it starts again
            "triggering_actor": self._actor(h, a),
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{api}/check-suites/{suite}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": f"{url}/attempts/{n - 1}" if n > 1 else None,
            "workflow_url": workflow["url"],
            "head_commit": {
                "id": a.sha,
                "tree_id": a.sha[::-1],
                "message": rec.message,
                "timestamp": gh_time(rec.c_date),
                "author": {"name": rec.author.name, "email": rec.author.email},
                "committer": {"name": "GitHub", "email": "noreply@github.com"}
                if rec.committer is None
                else {"name": rec.committer.name, "email": rec.committer.email},
            },
            "repository": repo_ref,
            "head_repository": repo_ref,
        }

    def _job(self, h: _History, api: str, run_id: int, n: int, a: _Attempt) -> dict:
        state, end = a.state(self.end), self.end
        job_id = self.first_job + self.slot
        started = a.started if a.started < end else a.requested
        done = state in ("success", "failure")
        steps = []
        if a.started < end:
            names = ["Set up job", "Deploy", "Complete job"]
            times = [a.started, a.started + 2, a.finished - 1, a.finished]
            for i, name in enumerate(names):
                step_done = times[i + 1] < end
                steps.append({
                    "name": name,
                    "status": "completed" if step_done else "in_progress" if times[i] < end else "queued",
                    "conclusion": (state if name == "Deploy" else "success") if step_done else None,
                    "number": i + 1,
                    "started_at": _local_time(times[i], -480) if times[i] < end else None,
                    "completed_at": _local_time(times[i + 1], -480) if step_done else None,
                })  # fmt: skip
        return {
            "id": job_id,
            "run_id": run_id,
            "workflow_name": "Deploy",
            "head_branch": "main",
            "run_url": f"{api}/actions/runs/{run_id}",
            "run_attempt": n,
            "node_id": base64.b64encode(f"08:CheckRun{job_id}".encode()).decode(),
            "head_sha": a.sha,
            "url": f"{api}/actions/jobs/{job_id}",
            "html_url": f"https://github.com/{h.service.github_repo}/actions/runs/{run_id}/job/{job_id}",
            "status": "completed" if done else "in_progress" if a.started < end else "queued",
            "conclusion": state if done else None,
            "created_at": gh_time(a.requested),
            "started_at": gh_time(started),
            "completed_at": gh_time(a.finished) if done else None,
            "name": DEPLOY_JOB,
            "steps": steps,
            "check_run_url": f"{api}/check-runs/{job_id}",
            "labels": ["ubuntu-latest"],
            "runner_id": 1 + job_id % 50 if a.started < end else None,
            "runner_name": f"GitHub Actions {1 + job_id % 50}" if a.started < end else None,
            "runner_group_id": 2 if a.started < end else None,
            "runner_group_name": "GitHub Actions" if a.started < end else None,
        }


class _Jenkins:
    """Production deployment attempts as builds of `deploy/<service>-production` (a retry is a new build)."""

    def __init__(self, seed: int, end: int) -> None:
        self.seed, self.end = seed, end
        rng = random.Random(f"{seed}/jenkins")
        self.library_shas = [_sha(rng) for _ in range(3)]

    def render(self, h: _History) -> JenkinsJob:
        """The job of history `h` with one build per production attempt, numbered in request order (a retry is a
        new build, so a later end only adds builds after the last)."""
        self.rng = _rng(self.seed, h.service.name, "jenkins")
        name = f"{h.service.name}-production"
        job = JenkinsJob(f"deploy/{name}", f"{JENKINS_WEB}/job/deploy/job/{name}/")
        # Pipelines that load a shared library check it out before the service's own repository, so its
        # BuildData comes first: a reader must pick the action by its remote URL, not by position.
        library = self.rng.random() < 0.5
        number = self.rng.randint(0, 120)
        for a in sorted((a for run in _production_runs(h) for a in run), key=lambda a: a.requested):
            number += 1
            timestamp = a.requested * 1000 + self.rng.randint(0, 999)
            state = a.state(self.end)
            done = state in ("success", "failure")
            app = self._build_data(a.sha, f"https://github.com/{h.service.github_repo}.git")
            checkouts = (
                [self._build_data(self.rng.choice(self.library_shas), SHARED_LIBRARY), app] if library else [app]
            )
            actions = [
                {"_class": "hudson.model.ParametersAction",
                 "parameters": [{"_class": "hudson.model.StringParameterValue", "name": "ENV", "value": "production"}]},
                {"_class": "hudson.model.CauseAction", "causes": [self._cause(h, a)]},
                {},
                *checkouts,
                *([{"_class": "org.jenkinsci.plugins.workflow.libs.LibrariesAction"}] if library else []),
                {},
                {"_class": "org.jenkinsci.plugins.workflow.job.views.FlowGraphAction"},
            ]  # fmt: skip
            job.builds.append({
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                "actions": actions,
                "building": not done,
                "displayName": f"#{number}",
                "duration": a.finished * 1000 - timestamp if done else 0,
                "fullDisplayName": f"deploy » {name} #{number}",
                "id": str(number),
                "number": number,
                "result": {"success": "SUCCESS", "failure": "FAILURE"}.get(state),
                "timestamp": timestamp,
                "url": f"{job.url}{number}/",
                "changeSets": [],
            })  # fmt: skip
        job.builds.reverse()
        return job

    @staticmethod
    def _build_data(sha: str, remote: str) -> dict:
        return {
            "_class": "hudson.plugins.git.util.BuildData",
            "lastBuiltRevision": {"SHA1": sha, "branch": [{"SHA1": sha, "name": "refs/remotes/origin/main"}]},
            "remoteUrls": [remote],
            "scmName": "",
        }

    @staticmethod
    def _cause(h: _History, a: _Attempt) -> dict:
        if a.deployer is None:
            login = h.commits[a.sha].author.gh["login"]
            return {
                "_class": "com.cloudbees.jenkins.GitHubPushCause",
                "shortDescription": f"Started by GitHub push by {login}",
            }
        return {
            "_class": "hudson.model.Cause$UserIdCause",
            "shortDescription": f"Started by user {a.deployer.name}",
            "userId": a.deployer.gh["login"],
            "userName": a.deployer.name,
        }


def _source_mix(rng: random.Random, services: list[Service], running: set[str]) -> dict[str, str]:
    """Which source each service deploys through: a few per new source with both operating models on each
    (where the count allows), at least one service left on GitHub deployments.

    Services with a deployment still running at the end go first, and Jenkins picks first, so a few of its
    builds are still `building`.
    """
    pools = {}
    for model in (YBIYRI, OPS):
        pool = [s.name for s in services if s.operating_model[0][0] == model]
        rng.shuffle(pool)
        pools[model] = sorted(pool, key=lambda name: name not in running)
    chosen = dict.fromkeys((s.name for s in services), "github")
    left = len(services) - 1
    for j, source in enumerate(("jenkins", "gitlab", "github_actions")):
        for i in range(max(1, len(services) // 6)):
            model = (YBIYRI, OPS)[(i + j) % 2]
            pool = pools[model] or pools[OPS if model == YBIYRI else YBIYRI]
            if left == 0 or not pool:
                break
            chosen[pool.pop(0)] = source
            left -= 1
    return chosen


def _render_sources(
    org: Organisation,
    builders: list[_RepoBuilder],
    people: _People,
    seed: int,
    source_mix: bool,
    deployment_source: str | None,
) -> None:
    """Move services to GitLab, GitHub Actions or Jenkins, rendering the same histories there."""
    start, end = _epoch(org.start), _epoch(org.end)
    # A few of the services that always ran You Build It You Run It (a third, at most three: each deploys every
    # night) also deploy nightly, so a few deployments are still running at the end whatever day it is. Which
    # services those are depends on neither the end nor the rendering (history, not rendering), and neither then
    # does where each service is served from.
    always = sorted(s.name for s in org.services if [m for m, _ in s.operating_model] == [YBIYRI])
    running = set(random.Random(f"{seed}/nightly").sample(always, min(3, max(1, len(always) // 3), len(always))))
    for b in builders:
        if b.svc.name in running:
            b.add_nightly_deployments()
    histories = [b.history() for b in builders]
    if deployment_source is not None:
        sources = {s.name: deployment_source for s in org.services}
    else:
        sources = _source_mix(random.Random(f"{seed}/source-mix"), org.services, running)
    # Every other Actions service names its deployment job in the catalog, so both ways of reading runs are used.
    named = sorted(name for name, source in sources.items() if source == "github_actions")[::2]
    org.services = [
        replace(s, deployment_source=sources[s.name], actions_job=DEPLOY_JOB if s.name in named else None)
        for s in org.services
    ]
    gitlab = _GitLab(seed, people, end)
    actions = _Actions(seed, people, end)
    jenkins = _Jenkins(seed, end)
    for rank, h in enumerate(histories):
        source, repo = sources[h.service.name], h.service.github_repo
        if source == "gitlab":
            del org.github[repo]
            org.gitlab[repo] = gitlab.render(h, rank)
        elif source in ("github_actions", "jenkins"):
            org.github[repo].deployments, org.github[repo].statuses = [], {}
            if source == "github_actions":
                org.github_actions[repo] = actions.render(h, start, rank)
            else:
                job = jenkins.render(h)
                org.jenkins[job.full_name] = job


# ----------------------------------------------------------------------------------------------------
# Assembly
# ----------------------------------------------------------------------------------------------------


def _catalog(rng: random.Random, ids: _Ids, n: int, start: int, end: int) -> list[Service]:
    """Half the services per model; a few ops-run services move to you-build-it-you-run-it mid-way."""
    order = list(range(n))
    rng.shuffle(order)
    n_ybiyri = n // 2
    n_moving = min(max(2, n // 10), n - n_ybiyri - 1)
    start_day, days = _date(start), (end - start) // DAY
    # Moves land part-way through a span that does not follow every day of the history's length, so a history one
    # day longer keeps every move where it was: the largest power of two days in it, at most 512 (a history that
    # crosses 64, 128, 256 or 512 days moves them; any longer one never does).
    span = min(512, 1 << (days.bit_length() - 1))
    services = []
    for rank, i in enumerate(order):
        name, team, key = _SERVICES[i % len(_SERVICES)]
        if i >= len(_SERVICES):
            suffix = i // len(_SERVICES) + 1
            name, key = f"{name}-{suffix}", f"{key}{suffix}"
        if rank < n_ybiyri:
            history: tuple[tuple[str, dt.date], ...] = ((YBIYRI, start_day),)
        elif rank < n_ybiyri + n_moving:
            moved = start_day + dt.timedelta(days=int(span * rng.uniform(0.5, 0.9)))
            history = ((OPS, start_day), (YBIYRI, moved))
        else:
            history = ((OPS, start_day),)
        target = rng.choice([99.0, 99.5, 99.5, 99.9])
        services.append(Service(name, team, target, history, f"{OWNER}/{name}", ids.pd(), key))
    return sorted(services, key=lambda s: s.name)


def generate(
    n_services: int = 20,
    days: int = 365,
    seed: int = 7,
    end: dt.date | None = None,
    opsgenie_services: int = 0,
    source_mix: bool = False,
    deployment_source: str | None = None,
) -> Organisation:
    """Generate an organisation of `n_services` services with `days` days of history up to `end` (exclusive).

    `end` defaults to today in UTC. The same arguments always give the same organisation, byte for byte.
    `opsgenie_services` services (chosen at random) page through Opsgenie instead of PagerDuty.

    The history (commits, changes, deployment attempts, their times, outcomes and shas) never depends on the
    two options below; they only choose through which APIs it is served:
    - `source_mix`: a few services keep their code and deployments on GitLab, a few deploy with GitHub Actions
      and a few with Jenkins (code still on GitHub), each with both operating models where the count allows; the
      rest as without it.
    - `deployment_source` ("github", "github_actions", "gitlab" or "jenkins"): every service through that one.
    With either, a few services also deploy nightly, so a production deployment is still running at the end.

    A history one day longer (same seed, `end` a day later, `days + 1`) keeps the past: every record it had is
    there byte for byte, except those still open at the end (an incident, a pull request, a running deployment, an
    open review or action), which move on; the new day only adds records.
    """
    if n_services < 1 or days < 1:
        raise ValueError("n_services and days must be positive")
    if deployment_source is not None and deployment_source not in DEPLOYMENT_SOURCES:
        raise ValueError(f"deployment_source must be one of {DEPLOYMENT_SOURCES}, not {deployment_source!r}")
    if source_mix and deployment_source is not None:
        raise ValueError("source_mix and deployment_source exclude each other")
    # Hundreds of thousands of acyclic dicts: the cycle collector would rescan them over and over, which makes
    # big organisations take twice as long. Reference counting still frees everything.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n_services, days, seed, end, opsgenie_services, source_mix, deployment_source)
    finally:
        if was_enabled:
            gc.enable()


def _generate(
    n_services: int,
    days: int,
    seed: int,
    end: dt.date | None,
    opsgenie_services: int,
    source_mix: bool,
    deployment_source: str | None,
) -> Organisation:
    end = end or dt.datetime.now(dt.UTC).date()
    end_s = _epoch(end)
    start_s = end_s - days * DAY
    rng = random.Random(seed)
    ids = _Ids(rng)
    services = _catalog(rng, ids, n_services, start_s, end_s)
    if opsgenie_services:
        services = _move_to_opsgenie(random.Random(f"{seed}/opsgenie-services"), services, opsgenie_services)
    people = _People(rng, ids, sorted({s.team for s in services}))

    github: dict[str, GitHubRepo] = {}
    plans: list[_Incident] = []
    builders: list[_RepoBuilder] = []
    horizon = end_s + INCIDENTS_AHEAD
    for rank, svc in enumerate(services):
        # Every service draws from generators of its own (see _rng), so its history depends neither on the others
        # nor on where the history ends.
        builder = _RepoBuilder(seed, rank, people, svc, start_s, end_s)
        drafts, changes = builder.draw(builder.deployment_plan())
        builder.build_deployments(drafts, builder.build_git(changes))
        github[svc.github_repo] = builder.repo
        builders.append(builder)
        incidents = _incident_plan(_rng(seed, svc.name, "incidents"), svc, builder.prod_success, start_s, horizon)
        _keep_availability_in_band(_rng(seed, svc.name, "availability"), svc, incidents, start_s, horizon)
        plans += [i for i in incidents if i.triggered < end_s]

    # Incidents in trigger order: numbers and PagerDuty ids (from a stream of their own, a fixed three log entry
    # ids per incident whatever its state) are drawn in that order, so a later end only adds after them.
    plans.sort(key=lambda i: (i.triggered, i.service.name))
    paged = [i for i in plans if i.service.opsgenie_team is None]
    pagerduty = _PagerDuty(people, [s for s in services if s.opsgenie_team is None], end_s)
    pd_ids = _Ids(_rng(seed, "pagerduty-ids"), ids.used)
    for number, inc in enumerate(paged, start=1001):
        inc.pid, inc.number = pd_ids.pd(), number
        inc.log_ids = [pd_ids.pd("R", 26) for _ in range(3)]
        inc.html_url = f"{PD_WEB}/incidents/{inc.pid}"
    for inc in paged:
        pagerduty.render(_rng(seed, "pagerduty", inc.pid), inc)
    pagerduty.log_entries.sort(key=lambda e: e["created_at"])
    opsgenie = _Opsgenie(random.Random(f"{seed}/opsgenie"), people, services, end_s)
    for inc in plans:
        if inc.service.opsgenie_team is not None:
            opsgenie.render(inc)

    jira = _jira_render(_jira_plan(seed, people, plans, end_s), services, end_s)
    org = Organisation(seed, _date(start_s), end, services, github, pagerduty.incidents, pagerduty.log_entries, jira)
    org.teams, org.pagerduty_users = _catalog_teams(people), _pagerduty_users(people)
    org.opsgenie_alerts, org.opsgenie_incidents, org.opsgenie_teams = (
        opsgenie.alerts,
        opsgenie.incidents,
        opsgenie.teams,
    )
    if source_mix or deployment_source is not None:
        _render_sources(org, builders, people, seed, source_mix, deployment_source)
    return org
