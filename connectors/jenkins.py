"""Jenkins (JSON API): the builds of the mapped jobs, bookmarked by build number.

Credentials go as HTTP Basic `user:token` with every request (Jenkins does not challenge: it answers 403 to a
request without them). A job's full name becomes one `/job/<segment>` per folder level, each segment URL-encoded,
so a multibranch branch job named `feature%2Fone` is asked for as `/job/feature%252Fone`. Builds come from
`tree=allBuilds[...]{M,N}` (every retained build, unlike `builds`, which stops at 100), newest first, a range at a
time. Jenkins has no time filter, so the bookmark is the build number: a sync pages until it reaches the bookmark,
and a build still `building` keeps the bookmark below it, so it is read again until it has a result. `timestamp`
and `duration` are epoch milliseconds (the end is their sum); the built commit is in the BuildData actions, which
land verbatim (staging picks the one whose `remoteUrls` names the service's repository).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Annotated
from urllib.parse import quote

from pydantic import Field

from connectors.base import (
    Bookmark,
    Checkpoint,
    Connector,
    Page,
    RangePaginator,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
    UserTokenSettings,
)
from connectors.http import ConnectorError, HttpClient

TREE = (
    "allBuilds[number,url,result,building,timestamp,duration,"
    "actions[_class,lastBuiltRevision[SHA1,branch[name]],remoteUrls]]"
)


class JenkinsSettings(UserTokenSettings):
    """`user` and `token` (an API token), both `env:` references."""


JobName = Annotated[str, Field(pattern=r"^[^/]+(/[^/]+)*$")]  # folders and multibranch projects joined with "/"


class JenkinsMapping(ServiceMapping):
    jobs: list[JobName] = Field(min_length=1)

    def key(self) -> str:
        return ",".join(sorted(self.jobs))


def job_path(full_name: str) -> str:
    """`deploy/checkout-prod` -> `job/deploy/job/checkout-prod`. Each segment is URL-encoded: a `/` inside a name is
    already `%2F` there (`feature%2Fone`), and Jenkins wants that `%` encoded again (`feature%252Fone`)."""
    return "/".join(f"job/{quote(segment, safe='')}" for segment in full_name.split("/"))


class JenkinsConnector(Connector):
    """Reads every mapped job's builds down to its bookmark."""

    name = "jenkins"
    settings_model = JenkinsSettings
    mapping_model = JenkinsMapping
    splits_by_partition = True
    streams = (
        Stream(
            "builds",
            "{job_path}/api/json",  # job_path(job)
            ("_context.job", "number"),
            "timestamp",
            RangePaginator("tree"),
            records_path="allBuilds",
            params={"tree": TREE},
            required_fields=("number", "timestamp", "building"),
            newest_first=True,
            # Jenkins has no field that changes with every edit; `duration` stays 0 until the build ends.
            version_field="duration",
            position_field="number",
        ),
    )

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        assert isinstance(settings, JenkinsSettings)
        return HttpClient(settings.api_url, auth=settings.basic_auth(), settings=settings.http_settings())

    def sync(self, since: Callable[[str, str], Bookmark | None]) -> Iterator[SyncEvent]:
        jobs: set[str] = set()
        for mapping in self.mappings.values():
            assert isinstance(mapping, JenkinsMapping)
            jobs.update(mapping.jobs)
        # One job at a time would wait on the API for every request: the next jobs are read while one is written.
        yield from self.read_partitions(partial(self._builds, job, since("builds", job)) for job in sorted(jobs))

    def _builds(self, job: str, lower: Bookmark | None) -> Iterator[SyncEvent]:
        """The job's builds after the bookmark (or since a date, for a backfill), then the new bookmark."""
        stream = self.stream("builds")
        params = {"page_size": self.settings.page_size}
        path = stream.path.format(job_path=job_path(job))
        numbers: list[int] = []
        building: list[int] = []
        try:
            for page in self.read(stream, {"job": job}, params, since=lower, path=path):
                yield Page(stream.name, page)
                for record in page:
                    number = record.payload.get("number")
                    if isinstance(number, int):
                        numbers.append(number)
                        if record.payload.get("building"):
                            building.append(number)
        except ValueError as exc:
            raise ConnectorError(
                f"jenkins job {job!r} lists no builds ({exc}): name a job, or a multibranch project's branch"
                " (`project/branch`), not a folder"
            ) from None
        if numbers:
            # Everything up to the bookmark has its result; a build still running is read again next time.
            yield Checkpoint(stream.name, job, min(building) - 1 if building else max(numbers))
