"""GitHub: deployments with their statuses, pull requests with their commits, and mainline commits.

`api: graphql` (the default) reads deployments and pull requests with GitHub's GraphQL API, a page of 100 with
their statuses or commits in one query, and the branch's commits from its `history`, the first page of all three
in one query a repository (on a later sync, of 20 repositories), and lands them in REST's shape
(`connectors/github_graphql.py`); `api: rest` reads them with one REST request per deployment and per merged pull
request, and the branch's commits from `/commits`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field

from connectors.base import (
    CheckLimits,
    Checkpoint,
    Connector,
    LinkHeaderPaginator,
    Page,
    Record,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
    dig,
    latest_cursor,
)
from connectors.github_graphql import (
    COMMIT_PARENTS,
    COMMITS,
    DEPLOYMENT_STATUSES,
    DEPLOYMENTS,
    PULL_COMMITS,
    PULL_COMMITS_NESTED,
    PULL_REQUESTS,
    REPOSITORY,
    graphql_endpoint,
    repositories_query,
    rest_commit,
    rest_deployment,
    rest_pull,
    rest_status,
)
from connectors.graphql import GraphqlClient, GraphqlSettings
from connectors.http import ConnectorError, HttpClient
from connectors.timeparse import isoformat_z

REPO_PATTERN = r"^[\w.-]+/[\w.-]+$"  # owner/name


def github_client(settings: SourceSettings) -> HttpClient:
    """The HTTP client of GitHub's REST API (Bearer token, versioned media type); GitHub Actions shares it."""
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
    return HttpClient(settings.api_url, headers=headers, settings=settings.http_settings())


class GithubSettings(GraphqlSettings):
    """`api`: how deployments, pull requests and mainline commits are read (`graphql`, the default, or `rest`);
    `graphql_url` overrides the GraphQL endpoint derived from `api_url` (see `graphql_endpoint`);
    `repositories_per_query`: how many repositories a later GraphQL sync reads in one query (1: one a query)."""

    # 30 repositories' first pages stay under GitHub's 500,000 nodes a query even at 100 a page (13,500 each).
    repositories_per_query: int = Field(default=20, ge=1, le=30)

    def graphql_endpoint(self) -> str:
        """Where GraphQL queries go."""
        return self.graphql_url or graphql_endpoint(self.api_url)


class GithubMapping(ServiceMapping):
    repo: str = Field(pattern=REPO_PATTERN)
    environment: str = "production"
    branch: str = "main"

    def key(self) -> str:
        return f"{self.repo}@{self.environment}"


_link = LinkHeaderPaginator()

# The first page of an incremental GraphQL listing (see `GithubConnector._first_page`).
INCREMENTAL_FIRST_PAGE = 10

# `/pulls/{n}/commits` lists at most 250 commits; a pull request that reaches the cap is read with compare.
PULL_COMMITS_CAP = 250


class GithubConnector(Connector):
    """Reads each mapped repository. Deployment time comes from statuses (dbt), never from `updated_at`."""

    name = "github"
    settings_model = GithubSettings
    mapping_model = GithubMapping
    checks = CheckLimits(freshness_days=14)  # an active repository deploys and merges every week or two
    splits_by_partition = True
    streams = (
        Stream(
            "deployments",
            "repos/{repo}/deployments",
            ("id",),
            "created_at",
            _link,
            required_fields=("id", "sha", "environment", "created_at"),
            newest_first=True,
            version_field="updated_at",
        ),
        Stream(
            "deployment_statuses",
            "repos/{repo}/deployments/{deployment_id}/statuses",
            ("id",),
            "created_at",
            _link,
            required_fields=("id", "state", "created_at"),
            version_field="updated_at",
        ),
        Stream(
            "pull_requests",
            "repos/{repo}/pulls",
            ("id",),
            "updated_at",
            _link,
            params={"state": "closed", "sort": "updated", "direction": "desc"},
            required_fields=("id", "number", "updated_at"),
            newest_first=True,
        ),
        Stream(
            "pull_commits",
            "repos/{repo}/pulls/{pull_number}/commits",
            ("_context.repo", "_context.pull_number", "sha"),
            "commit.author.date",
            _link,
            required_fields=("sha", "commit.author.date"),
        ),
        Stream(
            "commits",
            "repos/{repo}/commits",
            ("_context.repo", "sha"),
            "commit.committer.date",
            _link,
            required_fields=("sha", "commit.committer.date", "parents"),
        ),
    )
    # Not a table of its own: the commits of a pull request past the cap, landed in `pull_commits`.
    compare = Stream(
        "pull_commits",
        "repos/{repo}/compare/{base}...{head}",
        ("_context.repo", "_context.pull_number", "sha"),
        "commit.author.date",
        _link,
        records_path="commits",
        required_fields=("sha", "commit.author.date"),
    )

    def __init__(self, settings: SourceSettings, mappings: Mapping[str, ServiceMapping]) -> None:
        super().__init__(settings, mappings)
        assert isinstance(settings, GithubSettings)
        self.api = settings.api
        self.graphql = GraphqlClient(self.client, settings.graphql_endpoint(), self.log, api="GitHub GraphQL")

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        return github_client(settings)

    def sync(self, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        branches: dict[str, str] = {}
        for mapping in self.mappings.values():
            assert isinstance(mapping, GithubMapping)
            branches.setdefault(mapping.repo, mapping.branch)
        with self.worker_pool():
            yield from self.read_partitions(self._partitions(sorted(branches.items()), since))
        self.report_child_progress()
        if self.api == "graphql":
            self.log.info("github GraphQL: %s", self.graphql.summary())

    def _partitions(
        self, repos: list[tuple[str, str]], since: Callable[[str, str], datetime | None]
    ) -> list[Callable[[], Iterator[SyncEvent]]]:
        """The readers of a sync: one a repository, except on GraphQL, where repositories with a cursor (a later
        sync: small first pages) go up to `repositories_per_query` to a query."""
        if self.api != "graphql":
            return [partial(self._repository, repo, branch, since) for repo, branch in repos]
        assert isinstance(self.settings, GithubSettings)
        bounded = [
            (repo, branch, {stream: since(stream, repo) for stream in ("deployments", "pull_requests", "commits")})
            for repo, branch in repos
        ]
        # No cursor: whole first pages, a query of its own.
        alone = [[one] for one in bounded if not any(one[2].values())]
        batchable = [one for one in bounded if any(one[2].values())]
        # Never fewer batches than readers at once: a batch reads its repositories' further pages (a backfill's
        # `--since`, a long outage) one repository after another.
        readers_at_once = self.settings.partitions_ahead * (self.share[1] if self.share else 1)
        size = max(1, min(self.settings.repositories_per_query, math.ceil(len(batchable) / readers_at_once)))
        batches = alone + [batchable[i : i + size] for i in range(0, len(batchable), size)]
        return [partial(self._graphql_repositories, batch) for batch in batches]

    def _repository(self, repo: str, branch: str, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        """Every stream of one repository, through REST."""
        yield from self._deployments(repo, since("deployments", repo))
        yield from self._pull_requests(repo, since("pull_requests", repo))
        yield from self._commits(repo, branch, since("commits", repo))

    def _deployments(self, repo: str, lower: datetime | None) -> Iterator[SyncEvent]:
        # Newest first: stop once a whole page is older than the cursor minus the lookback.
        newest = None
        per_page = {"per_page": self.settings.page_size}
        statuses = self.stream("deployment_statuses")
        for page in self.read(self.stream("deployments"), {"repo": repo}, per_page, since=lower):
            yield Page("deployments", page)
            children = [{"repo": repo, "deployment_id": r.payload["id"]} for r in page]
            found = self.read_children(statuses.name, children, lambda child: self.read_all(statuses, child, per_page))
            yield Page("deployment_statuses", found)
            newest = latest_cursor(newest, page)
        if newest:
            yield Checkpoint("deployments", repo, newest)

    def _pull_requests(self, repo: str, lower: datetime | None) -> Iterator[SyncEvent]:
        newest = None
        per_page = {"per_page": self.settings.page_size}
        for page in self.read(self.stream("pull_requests"), {"repo": repo}, per_page, since=lower):
            yield Page("pull_requests", page)
            # The example payload has state "open" with a merged_at: trust merged_at, not state.
            merged = [r.payload for r in page if r.payload.get("merged_at")]
            commits = self.read_children("pull_commits", merged, lambda pull: self._pull_commits(repo, pull))
            if commits:
                yield Page("pull_commits", commits)
            newest = latest_cursor(newest, page)
        if newest:
            yield Checkpoint("pull_requests", repo, newest)

    def _commits(self, repo: str, branch: str, lower: datetime | None) -> Iterator[SyncEvent]:
        params: dict[str, Any] = {"sha": branch, "per_page": self.settings.page_size}
        if lower:
            params["since"] = isoformat_z(lower)
        pages = self.read(self.stream("commits"), {"repo": repo, "branch": branch}, params)
        yield from self._branch_commits(repo, pages)

    @staticmethod
    def _branch_commits(repo: str, pages: Iterator[list[Record]]) -> Iterator[SyncEvent]:
        """A branch's pages of commits (either API), then the repository's checkpoint at the newest one read."""
        newest = None
        for page in pages:
            yield Page("commits", page)
            newest = latest_cursor(newest, page)
        if newest:
            yield Checkpoint("commits", repo, newest)

    def _pull_commits(self, repo: str, pull: Mapping[str, Any]) -> list[Record]:
        """The commits of one pull request; at GitHub's cap of 250, from the compare API instead."""
        partition = {"repo": repo, "pull_number": pull["number"]}
        # A single-pull payload counts its commits and the list payload does not: there, a full listing
        # (exactly the cap) is the only sign that commits are missing.
        reported = pull.get("commits")
        if not (isinstance(reported, int) and reported >= PULL_COMMITS_CAP):
            listed = self.read_all(self.stream("pull_commits"), partition, {"per_page": self.settings.page_size})
            if len(listed) < PULL_COMMITS_CAP:
                return listed
        return self._compared_commits(repo, pull)

    def _compared_commits(self, repo: str, pull: Mapping[str, Any]) -> list[Record]:
        """Every commit of a pull request past the cap, read with the REST compare API (either `api`)."""
        partition = {"repo": repo, "pull_number": pull["number"]}
        base, head = dig(pull, "base.sha"), dig(pull, "head.sha")
        if not base or not head:
            raise ValueError(f"{repo}#{pull['number']} reaches the {PULL_COMMITS_CAP}-commit cap but has no base/head")
        path = self.compare.path.format(repo=repo, base=base, head=head)
        per_page = {"per_page": self.settings.page_size}
        commits = self.read_all(self.compare, partition, per_page, path=path)
        self.log.info("%s#%s: %d commits read with compare (past the cap)", repo, pull["number"], len(commits))
        return commits

    # --- GraphQL (`api: graphql`) -----------------------------------------------------------------------------

    def _repo_url(self, repo: str) -> str:
        """The REST URL of a repository, which REST payloads carry (`repository_url`)."""
        return f"{self.settings.api_url}/repos/{repo}"

    @staticmethod
    def _first_page(page_size: int, lower: datetime | None) -> int:
        """The size of a listing's first page: a whole page on a first sync; on a later one, a small page first
        (most repositories have a few new records a day), then whole pages if it was all new. A daily run then
        parses what is new, not a hundred deployments with their statuses (or pull requests with their commits)
        of every repository."""
        return page_size if lower is None else min(page_size, INCREMENTAL_FIRST_PAGE)

    def _repository_variables(self, repo: str, branch: str, bounds: Mapping[str, datetime | None]) -> dict[str, Any]:
        """What `Repository` asks of one repository: each listing's first page from its own lower bound."""
        owner, name = repo.split("/", 1)
        size = self.settings.page_size
        return {
            "owner": owner,
            "name": name,
            "deployments": self._first_page(size, bounds["deployments"]),
            "pulls": self._first_page(size, bounds["pull_requests"]),
            "branch": branch,
            # The history has its own lower bound (`since`): its first page is a whole one on any sync.
            "since": isoformat_z(bounds["commits"]) if bounds["commits"] else None,
        }

    def _graphql_repositories(self, batch: list[tuple[str, str, dict[str, datetime | None]]]) -> Iterator[SyncEvent]:
        """Every stream of each repository of `batch` through GraphQL: the first page of their deployments, of their
        pull requests and of their branches' history in one query (`Repository` for one, `Repositories` for more),
        then each listing read on with its own query only as far as it needs (most repositories' new records fit
        their first pages: a daily run asks one query a batch)."""
        size = self.settings.page_size
        shared = {"statuses": size, "commits": min(size, PULL_COMMITS_NESTED), "history": size}
        asked = [self._repository_variables(repo, branch, bounds) for repo, branch, bounds in batch]
        # Asked before anything is yielded: a failed query lands nothing of its repositories.
        if len(batch) == 1:
            operation = "Repository"
            answers = [dig(self.graphql.query(operation, REPOSITORY, {**shared, **asked[0]}), "repository")]
        else:
            operation = "Repositories"
            variables = {f"{key}{i}": value for i, one in enumerate(asked) for key, value in one.items()}
            data = self.graphql.query(operation, repositories_query(len(batch)), {**shared, **variables})
            answers = [dig(data, f"repository{i}") for i in range(len(batch))]
        listings = [
            tuple(self._listing(operation, repo, answer, c) for c in ("deployments", "pullRequests"))
            for (repo, _, _), answer in zip(batch, answers, strict=True)
        ]
        for (repo, branch, bounds), repository, (deployments, pulls) in zip(batch, answers, listings, strict=True):
            yield from self._graphql_deployments(repo, bounds["deployments"], deployments)
            yield from self._graphql_pull_requests(repo, bounds["pull_requests"], pulls)
            yield from self._graphql_commits(repo, branch, bounds["commits"], repository)

    def _listing(self, operation: str, repo: str, repository: Any, connection: str) -> Mapping[str, Any]:
        """The first page of one of `repository`'s connections in the answer to `operation`."""
        page = dig(repository, connection)
        if not isinstance(page, Mapping):
            raise ConnectorError(f"{self.graphql.api} {operation}: the answer has no {connection} of {repo}")
        return page

    def _graphql_deployments(
        self, repo: str, lower: datetime | None, first_page: Mapping[str, Any]
    ) -> Iterator[SyncEvent]:
        """Deployments newest first with their statuses, from `first_page` (read by `Repository`) on, 100 and their
        statuses a query; stops at `lower`."""
        owner, name = repo.split("/", 1)
        repo_url = self._repo_url(repo)
        nodes: dict[str, Mapping[str, Any]] = {}  # node id -> node, for the statuses of the page being read

        def raw_pages() -> Iterator[list[dict[str, Any]]]:
            size = self.settings.page_size
            variables = {"owner": owner, "name": name, "first": size, "statuses": size}
            path = "repository.deployments"
            for page in self.graphql.pages("Deployments", DEPLOYMENTS, variables, path, first_page):
                found = [n for n in page.get("nodes") or [] if n]
                nodes.update((n["id"], n) for n in found)
                yield [rest_deployment(n, repo_url) for n in found]

        newest = None
        for page in self.read_pages(self.stream("deployments"), {"repo": repo}, raw_pages(), since=lower):
            parents = [nodes[r.payload["node_id"]] for r in page]
            statuses = self.read_children("deployment_statuses", parents, lambda d: self._graphql_statuses(repo, d))
            nodes.clear()
            # Statuses are read before anything is yielded: a failed follow-up query lands none of the page.
            yield Page("deployments", page)
            yield Page("deployment_statuses", statuses)
            newest = latest_cursor(newest, page)
        if newest:
            yield Checkpoint("deployments", repo, newest)

    def _graphql_statuses(self, repo: str, deployment: Mapping[str, Any]) -> list[Record]:
        """A deployment's statuses: the page nested in its listing, then any further pages."""
        stream = self.stream("deployment_statuses")
        deployment_url = f"{self._repo_url(repo)}/deployments/{deployment['databaseId']}"
        partition = {"repo": repo, "deployment_id": deployment["databaseId"]}
        variables = {"id": deployment["id"], "first": self.settings.page_size}
        pages = self.graphql.pages(
            "DeploymentStatuses", DEPLOYMENT_STATUSES, variables, "node.statuses", deployment["statuses"]
        )
        return [
            stream.to_record(rest_status(node, deployment_url, self._repo_url(repo)), partition)
            for page in pages
            for node in page.get("nodes") or []
            if node
        ]

    def _graphql_pull_requests(
        self, repo: str, lower: datetime | None, first_page: Mapping[str, Any]
    ) -> Iterator[SyncEvent]:
        """Closed pull requests by last update, newest first, from `first_page` (read by `Repository`) on, with the
        commits of the merged ones; stops at `lower`."""
        owner, name = repo.split("/", 1)
        repo_url = self._repo_url(repo)
        nodes: dict[str, Mapping[str, Any]] = {}

        def raw_pages() -> Iterator[list[dict[str, Any]]]:
            size = self.settings.page_size
            commits = min(size, PULL_COMMITS_NESTED)
            variables = {"owner": owner, "name": name, "first": size, "commits": commits}
            path = "repository.pullRequests"
            for page in self.graphql.pages("PullRequests", PULL_REQUESTS, variables, path, first_page):
                found = [n for n in page.get("nodes") or [] if n]
                nodes.update((n["id"], n) for n in found)
                yield [rest_pull(n, repo, repo_url) for n in found]

        newest = None
        for page in self.read_pages(self.stream("pull_requests"), {"repo": repo}, raw_pages(), since=lower):
            # As on REST: the commits of merged pull requests only (merged_at, whatever the state says).
            merged = [(r.payload, nodes[r.payload["node_id"]]) for r in page if r.payload.get("merged_at")]
            commits = self.read_children("pull_commits", merged, lambda pair: self._graphql_pull_commits(repo, *pair))
            nodes.clear()
            yield Page("pull_requests", page)
            if commits:
                yield Page("pull_commits", commits)
            newest = latest_cursor(newest, page)
        if newest:
            yield Checkpoint("pull_requests", repo, newest)

    def _graphql_pull_commits(self, repo: str, pull: Mapping[str, Any], node: Mapping[str, Any]) -> list[Record]:
        """A merged pull request's commits: the page nested in its listing, then any further pages; past GitHub's
        cap of 250 (which GraphQL shares), the REST compare API."""
        nested = node["commits"]
        if (nested.get("totalCount") or 0) >= PULL_COMMITS_CAP:
            return self._compared_commits(repo, pull)
        variables = {"id": node["id"], "first": self.settings.page_size}
        pages = self.graphql.pages("PullRequestCommits", PULL_COMMITS, variables, "node.commits", nested)
        commits = [item["commit"] for page in pages for item in page.get("nodes") or [] if item]
        if len(commits) >= PULL_COMMITS_CAP:
            return self._compared_commits(repo, pull)
        stream, repo_url = self.stream("pull_commits"), self._repo_url(repo)
        partition = {"repo": repo, "pull_number": pull["number"]}
        return [stream.to_record(rest_commit(c, repo_url, self._parents(c)), partition) for c in commits]

    def _graphql_commits(
        self, repo: str, branch: str, lower: datetime | None, repository: Mapping[str, Any]
    ) -> Iterator[SyncEvent]:
        """The branch's commits, newest first, from `lower` (their committer date) on, 100 a query, as REST's
        `/commits?sha={branch}&since=` lists them, in a sixth of the bytes (REST's commit carries its author's and
        committer's accounts, its tree and its signature, which staging never reads). The first page is the
        `repository` answer's (`Repository`, asked with `since` at `lower`)."""
        owner, name = repo.split("/", 1)
        repo_url = self._repo_url(repo)
        variables = {
            "owner": owner,
            "name": name,
            "branch": branch,
            "first": self.settings.page_size,
            "since": isoformat_z(lower) if lower else None,
        }

        def raw_pages() -> Iterator[list[dict[str, Any]]]:
            ref = dig(repository, "ref")
            if not isinstance(ref, Mapping):
                if dig(repository, "isEmpty"):  # nothing pushed yet: no branch, no commits
                    return
                # Raised when the history is reached, not when the answer came: the repository's deployments and
                # pull requests are delivered first, as on the REST path (whose `/commits` answers 404).
                raise ConnectorError(f"{self.graphql.api} Repository: {repo} has no branch {branch!r}")
            history = dig(ref, "target.history")
            path = "repository.ref.target.history"
            for page in self.graphql.pages("Commits", COMMITS, variables, path, first_page=history):
                yield [rest_commit(c, repo_url, self._parents(c)) for c in page.get("nodes") or [] if c]

        pages = self.read_pages(self.stream("commits"), {"repo": repo, "branch": branch}, raw_pages())
        yield from self._branch_commits(repo, pages)

    def _parents(self, commit: Mapping[str, Any]) -> list[str]:
        """A commit's parents' shas in git order; an octopus merge's further parents with a query of their own."""
        parents = commit.get("parents") or {}
        listed = [p["oid"] for p in parents.get("nodes") or [] if p]
        if (parents.get("totalCount") or 0) <= len(listed):
            return listed
        variables = {"id": commit["id"], "first": self.settings.page_size}
        pages = self.graphql.pages("CommitParents", COMMIT_PARENTS, variables, "node.parents")
        return [p["oid"] for page in pages for p in page.get("nodes") or [] if p]
