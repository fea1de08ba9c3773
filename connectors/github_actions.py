"""GitHub Actions: the runs of a deployment workflow on a branch, every attempt of each, and their jobs.

Runs are listed per workflow with `branch` and a `created=<from>..<to>` window, newest first, Link-paged. With
those filters GitHub pages through the first 1,000 results only (a page beyond answers 422) while `total_count`
still counts them all: each window is probed with `per_page=1` and halved until it holds fewer than 1,000 runs,
then paged. A listed run is its latest attempt; a re-run keeps `id`, `run_number` and `head_sha` and raises
`run_attempt`, so the earlier attempts are read from `/attempts/{n}` and every attempt lands as its own row.
Jobs (per attempt) are read only for services whose mapping names the job that deploys.

There is no `updated_since`: a run can finish, or be re-run, long after it was created. Each sync re-reads from
the cursor minus the lookback, and the cursor stays at the oldest run not yet `completed` while there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import quote

from pydantic import Field

from connectors.base import (
    Checkpoint,
    Connector,
    LinkHeaderPaginator,
    Page,
    Record,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
    latest_cursor,
)
from connectors.github import REPO_PATTERN, github_client
from connectors.http import ConnectorError, HttpClient
from connectors.timeparse import isoformat_z

# With `branch` or `created`, GitHub lists the first 1,000 runs of a query and answers 422 past them.
RESULTS_CAP = 1000
# No run is older than GitHub Actions (public beta, October 2018): a first sync's window starts here, and probing
# its empty halves costs one request each.
ACTIONS_LAUNCH = datetime(2018, 10, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)  # `created` takes whole seconds, both ends inclusive


class GithubActionsMapping(ServiceMapping):
    repo: str = Field(pattern=REPO_PATTERN)
    workflow: str = Field(pattern=r"^[\w.-]+$")  # the workflow's file name (deploy.yml) or numeric id
    branch: str = "main"
    job: str | None = None  # the job inside each run that is the deployment, when not the whole run

    def key(self) -> str:
        return f"{self.repo}:{self.workflow}:{self.job or ''}"


_link = LinkHeaderPaginator()


class GithubActionsConnector(Connector):
    """Reads the mapped workflows' runs in `created` windows below the 1,000-result cap."""

    name = "github_actions"
    mapping_model = GithubActionsMapping
    splits_by_partition = True
    streams = (
        Stream(
            "workflow_runs",
            "repos/{repo}/actions/workflows/{workflow}/runs",
            ("id", "run_attempt"),
            "created_at",
            _link,
            records_path="workflow_runs",
            required_fields=("id", "run_attempt", "status", "head_sha", "created_at", "updated_at"),
            version_field="updated_at",  # the cursor (created_at) stays put while a run progresses
        ),
        Stream(
            "jobs",
            "repos/{repo}/actions/runs/{run_id}/attempts/{run_attempt}/jobs",
            ("id",),
            "started_at",
            _link,
            records_path="jobs",
            required_fields=("id", "run_id", "name", "status", "started_at"),
            # No field changes on every edit; completion, the edit that matters, sets `completed_at`.
            version_field="completed_at",
        ),
    )
    # Not a table of its own: one earlier attempt of a run (a single object), landed in `workflow_runs`.
    attempt_path = "repos/{repo}/actions/runs/{run_id}/attempts/{run_attempt}"

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        return github_client(settings)

    def sync(self, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        # (repo, workflow) -> (branch, whether any service deploys with a named job); the first mapping's branch.
        workflows: dict[tuple[str, str], tuple[str, bool]] = {}
        for mapping in self.mappings.values():
            assert isinstance(mapping, GithubActionsMapping)
            branch, jobs = workflows.get((mapping.repo, mapping.workflow), (mapping.branch, False))
            workflows[(mapping.repo, mapping.workflow)] = (branch, jobs or mapping.job is not None)
        until = datetime.now(UTC).replace(microsecond=0)
        with self.worker_pool():
            yield from self.read_partitions(
                partial(self._workflow, repo, workflow, branch, jobs, since, until)
                for (repo, workflow), (branch, jobs) in sorted(workflows.items())
            )
        self.report_child_progress()

    def _workflow(
        self,
        repo: str,
        workflow: str,
        branch: str,
        jobs: bool,
        since: Callable[[str, str], datetime | None],
        until: datetime,
    ) -> Iterator[SyncEvent]:
        key = f"{repo}:{workflow}"
        lower = since("workflow_runs", key) or ACTIONS_LAUNCH
        yield from self._runs(repo, workflow, branch, jobs, key, lower.replace(microsecond=0), until)

    def _runs(
        self, repo: str, workflow: str, branch: str, jobs: bool, key: str, lower: datetime, until: datetime
    ) -> Iterator[SyncEvent]:
        stream = self.stream("workflow_runs")
        partition = {"repo": repo, "workflow": workflow}
        path = stream.path.format(repo=repo, workflow=quote(workflow, safe=""))
        newest: datetime | None = None
        oldest_open: datetime | None = None
        for start, end in self._windows(path, branch, lower, until):
            params = {"branch": branch, "created": _created(start, end), "per_page": self.settings.page_size}
            for page in self.read(stream, partition, params, path=path):
                earlier = [(run, n) for run in page for n in range(1, int(run.payload.get("run_attempt") or 1))]
                attempts = page + self.read_children(stream.name, earlier, lambda pair: [self._attempt(*pair)])
                yield Page(stream.name, attempts)
                if jobs:
                    yield Page("jobs", self.read_children("jobs", attempts, self._jobs))
                newest = latest_cursor(newest, page)
                open_runs = [r.cursor for r in page if r.payload.get("status") != "completed"]
                oldest_open = min(filter(None, [oldest_open, *open_runs]), default=None)
        # A run not yet completed will change: the next sync reads again from it (minus the lookback).
        cursor = oldest_open or newest
        if cursor:
            yield Checkpoint(stream.name, key, cursor)

    def _windows(self, path: str, branch: str, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """`created` windows from `start` to `end` (whole seconds, inclusive) that each hold fewer runs than the cap,
        oldest first; empty windows are left out."""
        body, _ = self.client.get_json(path, {"branch": branch, "created": _created(start, end), "per_page": 1})
        total = int(body.get("total_count") or 0)
        if total < RESULTS_CAP:
            if total:
                yield start, end
            return
        if end - start < SECOND:
            raise ConnectorError(
                f"github_actions {path}: {total} runs created in the second {isoformat_z(start)}; GitHub lists"
                f" only the first {RESULTS_CAP}"
            )
        middle = start + (end - start) // 2
        middle -= timedelta(microseconds=middle.microsecond)
        self.log.info("%s: %d runs created %s, past the cap; halving the window", path, total, _created(start, end))
        yield from self._windows(path, branch, start, middle)
        yield from self._windows(path, branch, middle + SECOND, end)

    def _attempt(self, run: Record, number: int) -> Record:
        """Attempt `number` of a run, as it was then (its own status, conclusion and times)."""
        path = self.attempt_path.format(repo=run.context["repo"], run_id=run.payload["id"], run_attempt=number)
        body, _ = self.client.get_json(path)
        return self.stream("workflow_runs").to_record(body, run.context)

    def _jobs(self, attempt: Record) -> list[Record]:
        """The jobs of one attempt of a run."""
        partition = {**attempt.context, "run_id": attempt.payload["id"], "run_attempt": attempt.payload["run_attempt"]}
        return self.read_all(self.stream("jobs"), partition, {"per_page": self.settings.page_size})


def _created(start: datetime, end: datetime) -> str:
    """GitHub's search range syntax, both ends inclusive: `2024-05-01T00:00:00Z..2024-05-31T23:59:59Z`."""
    return f"{isoformat_z(start)}..{isoformat_z(end)}"
