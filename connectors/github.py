"""GitHub: deployments with their statuses, pull requests with their commits, and mainline commits."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
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
from connectors.http import HttpClient
from connectors.timeparse import isoformat_z

REPO_PATTERN = r"^[\w.-]+/[\w.-]+$"  # owner/name


def github_client(settings: SourceSettings) -> HttpClient:
    """The HTTP client of GitHub's REST API (Bearer token, versioned media type); GitHub Actions shares it."""
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
    return HttpClient(settings.api_url, headers=headers, settings=settings.http_settings())


class GithubMapping(ServiceMapping):
    repo: str = Field(pattern=REPO_PATTERN)
    environment: str = "production"
    branch: str = "main"

    def key(self) -> str:
        return f"{self.repo}@{self.environment}"


_link = LinkHeaderPaginator()

# `/pulls/{n}/commits` lists at most 250 commits; a pull request that reaches the cap is read with compare.
PULL_COMMITS_CAP = 250


class GithubConnector(Connector):
    """Reads each mapped repository. Deployment time comes from statuses (dbt), never from `updated_at`."""

    name = "github"
    mapping_model = GithubMapping
    checks = CheckLimits(freshness_days=14)  # an active repository deploys and merges every week or two
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

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        return github_client(settings)

    def sync(self, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        branches: dict[str, str] = {}
        for mapping in self.mappings.values():
            assert isinstance(mapping, GithubMapping)
            branches.setdefault(mapping.repo, mapping.branch)
        with self.worker_pool():
            for repo, branch in sorted(branches.items()):
                yield from self._deployments(repo, since("deployments", repo))
                yield from self._pull_requests(repo, since("pull_requests", repo))
                yield from self._commits(repo, branch, since("commits", repo))
        self.report_child_progress()

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
        newest = None
        for page in self.read(self.stream("commits"), {"repo": repo, "branch": branch}, params):
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
        base, head = dig(pull, "base.sha"), dig(pull, "head.sha")
        if not base or not head:
            raise ValueError(f"{repo}#{pull['number']} reaches the {PULL_COMMITS_CAP}-commit cap but has no base/head")
        path = self.compare.path.format(repo=repo, base=base, head=head)
        per_page = {"per_page": self.settings.page_size}
        commits = self.read_all(self.compare, partition, per_page, path=path)
        self.log.info("%s#%s: %d commits read with compare (past the cap)", repo, pull["number"], len(commits))
        return commits
