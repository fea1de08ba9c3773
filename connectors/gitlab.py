"""GitLab (REST v4, and GraphQL for merge requests' commits): merged merge requests with their commits, the
branch's commits, and deployments.

`api_url` ends in `/api/v4`; the token travels in `PRIVATE-TOKEN`. A project is addressed by its URL-encoded path
(`acme%2Fcheckout`). Every list pages by `page`/`per_page` with the next page's number in `X-Next-Page`, empty on
the last page: totals are never relied on (GitLab leaves `X-Total` out past 10,000 rows and on commits). Merge
requests and deployments are read oldest update first from `updated_after` ("on or after"; GitLab wants it
paired with `order_by=updated_at`), commits from `since` (their committed date), newest first. Payloads land
verbatim: commit times keep the committer's offset (`+03:00`), a fast-forward merge has no `merge_commit_sha`, a
squash merge names its `squash_commit_sha`; staging reads them.

Merge requests' commits: REST lists them one merge request a request (the sync's chattiest stream by far). With
`api: graphql` (the default) one GraphQL query (`POST /api/graphql`, beside `/api/v4`) reads the commits of
`merge_requests_per_query` merge requests of a page (default 20) by their iids, `page_size` commits each (default
100), and a longer merge request's further commits in queries of their own. What lands is REST's payload of each
commit, under the same key, cursor and `_context`: `id` (the sha), `short_id`, `title`, `message`, `author_name`,
`author_email`, `authored_date`, `committer_name`, `committer_email`, `committed_date`, `created_at` (REST's copy of
the committed date) and `web_url`; GraphQL has no `trailers` (nor `parent_ids`, which GitLab's REST documents for
these commits), and nothing reads them. GraphQL's times are the same instants in the committer's offset, without
REST's milliseconds (Ruby's `iso8601`: `...T19:52:03+02:00`). GitLab scores each query's complexity (at most 250 for
a token): asked for by iids, a query's complexity does not grow with the number of merge requests, and a merge
request's commits count once, not once a node. Errors come with HTTP 200; any but a missing field (below) fails the
sync naming the query and GitLab's message, and nothing of that answer lands. What GraphQL does not answer is read
through REST with a warning (see `GitlabConnector._graphql_commits`): a project renamed or moved since the mapping
was written, a merge request left out, or a GitLab whose schema lacks a field the query asks for (`committerName`
and `committerEmail` came to GraphQL's `Commit` after its `commits` did). `api: rest` reads them as before, a
request per merge request.
"""

from __future__ import annotations

import threading
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
    dig,
    latest_cursor,
)
from connectors.graphql import GraphqlClient, GraphqlSettings
from connectors.http import ConnectorError, HttpClient
from connectors.timeparse import isoformat_z


class GitlabSettings(GraphqlSettings):
    """`api`: how merge requests' commits are read (`graphql`, the default, or `rest`); `graphql_url` overrides
    the endpoint derived from `api_url` (`https://host/api/graphql` for `https://host/api/v4`);
    `merge_requests_per_query`: how many merge requests' commits one GraphQL query reads (a real GitLab answers
    within its request timeout for a few dozen; each merge request costs a Gitaly call there)."""

    merge_requests_per_query: int = Field(20, ge=1, le=100)

    def graphql_endpoint(self) -> str:
        """Where GraphQL queries go: GitLab serves them at `/api/graphql` beside `/api/v4`."""
        if self.graphql_url:
            return self.graphql_url
        api_url = self.api_url.rstrip("/")
        return (api_url.removesuffix("/v4") if api_url.endswith("/api/v4") else api_url) + "/graphql"


_COMMIT_FIELDS = """
fragment CommitFields on Commit {
  sha shortId title message authorName authorEmail authoredDate committerName committerEmail committedDate webUrl
}"""
_COMMITS_PAGE = "pageInfo { hasNextPage endCursor } nodes { ...CommitFields }"

# The commits of a batch of merge requests, asked for by iid: a page of commits of each.
MERGE_REQUEST_COMMITS = f"""
query MergeRequestCommits($project: ID!, $iids: [String!], $first: Int!, $commits: Int!) {{
  project(fullPath: $project) {{
    mergeRequests(iids: $iids, first: $first) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ iid commits(first: $commits) {{ {_COMMITS_PAGE} }} }}
    }}
  }}
}}
{_COMMIT_FIELDS}"""

# The further pages of one merge request's commits.
MERGE_REQUEST_COMMITS_PAGE = f"""
query MergeRequestCommitsPage($project: ID!, $iid: String!, $first: Int!, $after: String) {{
  project(fullPath: $project) {{
    mergeRequest(iid: $iid) {{ commits(first: $first, after: $after) {{ {_COMMITS_PAGE} }} }}
  }}
}}
{_COMMIT_FIELDS}"""


def rest_commit(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL `Commit` as the REST payload of a merge request's commit (see the module docstring)."""
    return {
        "id": node.get("sha"),
        "short_id": node.get("shortId"),
        "title": node.get("title"),
        "message": node.get("message"),
        "author_name": node.get("authorName"),
        "author_email": node.get("authorEmail"),
        "authored_date": node.get("authoredDate"),
        "committer_name": node.get("committerName"),
        "committer_email": node.get("committerEmail"),
        "committed_date": node.get("committedDate"),
        "created_at": node.get("committedDate"),
        "web_url": node.get("webUrl"),
    }


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
    settings_model = GitlabSettings
    mapping_model = GitlabMapping
    splits_by_partition = True
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

    def __init__(self, settings: SourceSettings, mappings: Mapping[str, ServiceMapping]) -> None:
        super().__init__(settings, mappings)
        assert isinstance(settings, GitlabSettings)
        self.api = settings.api
        self.per_query = settings.merge_requests_per_query
        self.graphql = GraphqlClient(self.client, settings.graphql_endpoint(), self.log, api="GitLab GraphQL")
        self._rest_fallback = False  # set once GitLab's GraphQL schema lacks a field the query asks for
        self._fallback_lock = threading.Lock()

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
        if self.api == "graphql":
            self.log.info("gitlab GraphQL: %s", self.graphql.summary())

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
        """The commits of each merge request of a page: a GraphQL query per `merge_requests_per_query` of them,
        or with `api: rest` one request (or more) per merge request."""
        commits = self.stream("merge_request_commits")
        iids = [mr.payload["iid"] for mr in page]
        if self.api == "graphql":
            batches = [iids[i : i + self.per_query] for i in range(0, len(iids), self.per_query)]
            found = self.read_children(commits.name, batches, partial(self._graphql_commits, partition), batched=True)
        else:
            found = self.read_children(commits.name, iids, partial(self._rest_commits, partition))
        if found:
            yield Page(commits.name, found)

    def _rest_commits(self, partition: dict[str, Any], *iids: int) -> list[Record]:
        """The commits of merge requests `iids` through REST, in that order: a request per page of each one's."""
        commits = self.stream("merge_request_commits")
        records: list[Record] = []
        for iid in iids:
            child = {**partition, "merge_request_iid": iid}
            path = encoded_path(commits, child)
            records += self.read_all(commits, child, {"per_page": self.settings.page_size}, path=path)
        return records

    def _graphql_commits(self, partition: dict[str, Any], iids: list[int]) -> list[Record]:
        """The commits of the merge requests `iids` of one project, in that order: one query, then the further
        pages of any merge request with more than a page of commits.

        What GraphQL does not answer is read through REST, with a warning, never skipped: a merge request the
        answer leaves out, every merge request of a project GraphQL does not find by the mapped path (REST follows
        a renamed or moved project's old path, GraphQL does not), and, from then on, every merge request once
        GitLab's schema lacks a field the query asks for (an instance older than the fields)."""
        project, size = partition["project"], self.settings.page_size
        if self._rest_fallback:
            return self._rest_commits(partition, *iids)
        variables = {"project": project, "iids": [str(i) for i in iids], "first": len(iids), "commits": size}
        try:
            answer = self.graphql.query("MergeRequestCommits", MERGE_REQUEST_COMMITS, variables)
        except ConnectorError as error:
            if "undefinedField" not in str(error):
                raise
            with self._fallback_lock:  # batches are read in threads: the first to fail says so, once
                first, self._rest_fallback = not self._rest_fallback, True
            if first:
                self.log.warning("%s; reading merge requests' commits through REST from here on", error)
            return self._rest_commits(partition, *iids)
        listing = dig(answer, "project.mergeRequests")
        nodes = {str(n.get("iid")): n for n in listing.get("nodes") or [] if n} if isinstance(listing, Mapping) else {}
        if missing := [f"!{iid}" for iid in iids if str(iid) not in nodes]:
            self.log.warning(
                "GitLab GraphQL MergeRequestCommits: %s %s not in the answer; reading their commits through REST",
                project if isinstance(listing, Mapping) else f"project {project} not found by its path,",
                ", ".join(missing),
            )
        stream = self.stream("merge_request_commits")
        records: list[Record] = []
        for iid in iids:
            node = nodes.get(str(iid))
            if node is None:
                records += self._rest_commits(partition, iid)
                continue
            pages = self.graphql.pages(
                "MergeRequestCommitsPage",
                MERGE_REQUEST_COMMITS_PAGE,
                {"project": project, "iid": str(iid), "first": size},
                "project.mergeRequest.commits",
                first_page=node.get("commits") or {},
            )
            child = {**partition, "merge_request_iid": iid}
            records += [stream.to_record(rest_commit(c), child) for p in pages for c in p.get("nodes") or [] if c]
        return records


def _bound(param: str, lower: datetime | None) -> dict[str, str]:
    """The lower-bound parameter (`updated_after`, `since`), or nothing for a first sync."""
    return {param: isoformat_z(lower)} if lower else {}
