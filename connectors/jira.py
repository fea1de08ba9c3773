"""Jira Cloud: post-incident reviews and their improvement actions, found with JQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from connectors.base import (
    CheckLimits,
    Checkpoint,
    Connector,
    NextPageTokenPaginator,
    Page,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
    UserTokenSettings,
)
from connectors.http import HttpClient

ALL = "all"
FIELDS = (
    "summary",
    "issuetype",
    "labels",
    "project",
    "status",
    "created",
    "updated",
    "resolutiondate",
    "issuelinks",
)


class _Setting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewRule(_Setting):
    issue_type: str | None = "Post-incident review"
    label: str | None = "postmortem"


class ActionRule(_Setting):
    issue_type: str | None = None
    label: str | None = "postmortem-action"


class IncidentLink(_Setting):
    field: str = "customfield_10042"  # holds the incident's URL or id


class JiraSettings(UserTokenSettings):
    reviews: ReviewRule = ReviewRule()
    actions: ActionRule = ActionRule()
    incident_link: IncidentLink = IncidentLink()
    page_size: int = 100


class JiraMapping(ServiceMapping):
    project: str


_token = NextPageTokenPaginator()
_search = "rest/api/3/search/jql"


class JiraConnector(Connector):
    """Reviews and actions are recognised by issue type and label, as configured."""

    name = "jira"
    settings_model = JiraSettings
    mapping_model = JiraMapping
    checks = CheckLimits(freshness_days=60)  # reviews follow incidents, which a healthy service has few of
    streams = (
        Stream(
            "reviews",
            _search,
            ("id",),
            "fields.updated",
            _token,
            records_path="issues",
            required_fields=("id", "key", "fields.created"),
            timestamp_fields=("fields.created", "fields.updated"),
        ),
        Stream(
            "actions",
            _search,
            ("id",),
            "fields.updated",
            _token,
            records_path="issues",
            required_fields=("id", "key", "fields.created"),
            timestamp_fields=("fields.created", "fields.updated"),
        ),
    )

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        assert isinstance(settings, JiraSettings)
        return HttpClient(settings.api_url, auth=settings.basic_auth(), settings=settings.http_settings())

    def jql(self, rule: ReviewRule | ActionRule, lower: datetime | None) -> str:
        """The JQL that finds one kind of issue in the mapped projects, oldest update first."""
        projects = ", ".join(sorted(m.project for m in self.mappings.values()))  # type: ignore[attr-defined]
        clauses = [f"project in ({projects})"]
        if rule.issue_type:
            clauses.append(f'issuetype = "{rule.issue_type}"')
        if rule.label:
            clauses.append(f"labels = {rule.label}")
        if lower:
            clauses.append(f'updated >= "{lower:%Y-%m-%d %H:%M}"')
        return " AND ".join(clauses) + " ORDER BY updated ASC"

    def sync(self, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        settings = self.settings
        assert isinstance(settings, JiraSettings)
        fields = ",".join((*FIELDS, settings.incident_link.field))
        for stream_name, rule in (("reviews", settings.reviews), ("actions", settings.actions)):
            params = {
                "jql": self.jql(rule, since(stream_name, ALL)),
                "fields": fields,
                "maxResults": settings.page_size,
            }
            newest = None
            for page in self.read(self.stream(stream_name), {}, params):
                yield Page(stream_name, page)
                cursors = [r.cursor for r in page if r.cursor] + ([newest] if newest else [])
                newest = max(cursors, default=None)
            if newest:
                yield Checkpoint(stream_name, ALL, newest)
