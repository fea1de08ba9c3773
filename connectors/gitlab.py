"""GitLab (REST v4): merged merge requests with their commits, the branch's commits, and deployments.

`api_url` ends in `/api/v4`; the token travels in `PRIVATE-TOKEN`. A project is addressed by its URL-encoded path
(`acme%2Fcheckout`). Every list pages by `page`/`per_page` with the next page's number in `X-Next-Page`, empty on
the last page: totals are never relied on (GitLab leaves `X-Total` out past 10,000 rows and on commits). Merge
requests and deployments are read oldest update first from `updated_after` ("on or after"; GitLab wants it
paired with `order_by=updated_at`), commits from `since` (their committed date), newest first. Payloads land
verbatim: commit times keep the committer's offset (`+03:00`), a fast-forward merge has no `merge_commit_sha`, a
squash merge names its `squash_commit_sha`; staging reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from pydantic import Field

from connectors.base import (
    Checkpoint,
    Connector,
    NextPageHeaderPaginator,
    Page,
    Record,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
    latest_cursor,
)
from connectors.http import HttpClient
from connectors.timeparse import isoformat_z


class GitlabMapping(ServiceMapping):
    project: str = Field(pattern=r"^[\w.-]+(/[\w.-]+)+$")  # group/subgroup/name
    environment: str = "production"
    branch: str = "main"

    def key(self) -> str:
        return f"{self.project}@{self.environment}"


_next_page = NextPageHeaderPaginator("X-Next-Page")
# Oldest update first, so the newest `updated_at` read is where the partition has got to.
_by_update = {"order_by": "updated_at", "sort": "asc"}


def encoded_path(stream: Stream, partition: Mapping[str, Any]) -> str:
    """The stream's path for `partition` with every value URL-encoded: `projects/acme%2Fcheckout/...`."""
    return stream.path.format(**{k: quote(str(v), safe="") for k, v in partition.items()})


class GitlabConnector(Connector):
    """Reads each mapped project: its merge requests into the branch, the branch's commits, and the deployments
    to each mapped environment."""

    name = "gitlab"
    mapping_model = GitlabMapping
    streams = (
        Stream(
            "merge_requests",
            "projects/{project}/merge_requests",
            ("id",),
            "updated_at",
            _next_page,
            params={"state": "merged", **_by_update},
            required_fields=("id", "iid", "project_id", "updated_at", "target_branch"),
        ),
        Stream(
            "merge_request_commits",
            "projects/{project}/merge_requests/{merge_request_iid}/commits",
            ("_context.project", "_context.merge_request_iid", "id"),
            "authored_date",
            _next_page,
            required_fields=("id", "authored_date"),
        ),
        Stream(
            "commits",
            "projects/{project}/repository/commits",
            ("_context.project", "id"),
            "committed_date",
            _next_page,
            required_fields=("id", "committed_date", "parent_ids"),
        ),
        Stream(
            "deployments",
            "projects/{project}/deployments",
            ("id",),
            "updated_at",
            _next_page,
            params=_by_update,
            required_fields=("id", "iid", "sha", "status", "updated_at", "environment"),
        ),
    )

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        headers = {"PRIVATE-TOKEN": settings.token.get_secret_value()} if settings.token else {}
        return HttpClient(settings.api_url, headers=headers, settings=settings.http_settings())

    def sync(self, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        branches: dict[str, str] = {}
        environments: dict[str, set[str]] = {}
        for mapping in self.mappings.values():
            assert isinstance(mapping, GitlabMapping)
            branches.setdefault(mapping.project, mapping.branch)
            environments.setdefault(mapping.project, set()).add(mapping.environment)
        with self.worker_pool():
            yield from self.read_partitions(
                partial(self._project, project, branch, sorted(environments[project]), since)
                for project, branch in sorted(branches.items())
            )
        self.report_child_progress()

    def _project(
        self, project: str, branch: str, environments: list[str], since: Callable[[str, str], datetime | None]
    ) -> Iterator[SyncEvent]:
        """Every stream of one project."""
        partition = {"project": project}
        params = {"target_branch": branch, **_bound("updated_after", since("merge_requests", project))}
        yield from self._paged("merge_requests", project, partition, params, self._merge_request_commits)
        params = {"ref_name": branch, **_bound("since", since("commits", project))}
        yield from self._paged("commits", project, {**partition, "branch": branch}, params)
        for environment in environments:
            key = f"{project}@{environment}"
            params = {"environment": environment, **_bound("updated_after", since("deployments", key))}
            yield from self._paged("deployments", key, {**partition, "environment": environment}, params)

    def _paged(
        self,
        stream_name: str,
        checkpoint: str,
        partition: dict[str, Any],
        params: dict[str, Any],
        then: Callable[[dict[str, Any], list[Record]], Iterator[SyncEvent]] | None = None,
    ) -> Iterator[SyncEvent]:
        """Every page of one partition (each followed by what `then` reads for it), then the partition's
        checkpoint at the newest cursor read."""
        stream = self.stream(stream_name)
        newest = None
        query = {**params, "per_page": self.settings.page_size}
        for page in self.read(stream, partition, query, path=encoded_path(stream, partition)):
            yield Page(stream.name, page)
            if then:
                yield from then(partition, page)
            newest = latest_cursor(newest, page)
        if newest:
            yield Checkpoint(stream.name, checkpoint, newest)

    def _merge_request_commits(self, partition: dict[str, Any], page: list[Record]) -> Iterator[SyncEvent]:
        """The commits of each merge request of a page, one request (or more) per merge request."""
        commits = self.stream("merge_request_commits")
        per_page = {"per_page": self.settings.page_size}

        def read_one(merge_request: Record) -> list[Record]:
            child = {**partition, "merge_request_iid": merge_request.payload["iid"]}
            return self.read_all(commits, child, per_page, path=encoded_path(commits, child))

        found = self.read_children(commits.name, page, read_one)
        if found:
            yield Page(commits.name, found)


def _bound(param: str, lower: datetime | None) -> dict[str, str]:
    """The lower-bound parameter (`updated_after`, `since`), or nothing for a first sync."""
    return {param: isoformat_z(lower)} if lower else {}
