"""Jenkins specifics: job paths and their double encoding, range paging down to the build-number bookmark, builds
still running read again, Basic credentials sent up front, and the bookmark stored as a position."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from connectors.base import Bookmark, Checkpoint, Record
from connectors.http import ConnectorError
from connectors.jenkins import JenkinsConnector, JenkinsMapping, JenkinsSettings, job_path
from orchestration.raw.sync import SyncOptions
from orchestration.warehouse import connect, load_cursors
from tests.connectors.fakes import (
    JENKINS_USER,
    TOKEN,
    FakeApi,
    collect,
    jenkins_builds,
    jenkins_settings,
    raw_path,
    serve_jenkins,
)
from tests.raw.snapshots import raw_rows, sync_into

JOB = "deploy/shop-production"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACT_TOKEN", TOKEN)
    monkeypatch.setenv("CONTRACT_USER", JENKINS_USER)


def connector(api: FakeApi, *jobs: str) -> JenkinsConnector:
    settings = JenkinsSettings.model_validate(jenkins_settings(api))
    jenkins = JenkinsConnector(settings, {"shop": JenkinsMapping(jobs=list(jobs or [JOB]))})
    jenkins.client.sleep = lambda seconds: pytest.fail(f"the client waited {seconds}s: no fault should occur")
    return jenkins


def sync(jenkins: JenkinsConnector, bookmarks: dict[str, Bookmark] | None = None) -> tuple[list[Record], list]:
    records, checkpoints = collect(jenkins, lambda stream, job: (bookmarks or {}).get(job))
    return records.get("builds", []), checkpoints


def ranges(api: FakeApi) -> list[str]:
    """The `{M,N}` range of each request for builds, in order."""
    return [r.args["tree"].rsplit("]", 1)[1] for r in api.requests if "tree" in r.args]


@pytest.mark.parametrize(
    ("full_name", "path"),
    [
        ("deploy/checkout-prod", "job/deploy/job/checkout-prod"),
        ("checkout/main", "job/checkout/job/main"),
        ("checkout/feature%2Fone", "job/checkout/job/feature%252Fone"),
        ("Test Workflow", "job/Test%20Workflow"),
        ("a/b/c#1", "job/a/job/b/job/c%231"),
    ],
)
def test_job_full_names_become_encoded_job_paths(full_name: str, path: str) -> None:
    assert job_path(full_name) == path


def test_a_branch_with_a_slash_is_asked_for_double_encoded(httpserver: HTTPServer) -> None:
    api = FakeApi(httpserver)
    serve_jenkins(api, {"shop/feature%2Fone": jenkins_builds("shop/feature%2Fone", 2, 1)})
    records, _ = sync(connector(api, "shop/feature%2Fone"))
    assert [r.pk for r in records] == ["shop/feature%2Fone:2", "shop/feature%2Fone:1"]
    assert records[0].context == {"job": "shop/feature%2Fone"}
    assert {raw_path(r) for r in api.requests} == {"/job/shop/job/feature%252Fone/api/json"}


def test_range_paging_stops_at_the_bookmark(httpserver: HTTPServer) -> None:
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: jenkins_builds(JOB, 10, 1)})
    records, checkpoints = sync(connector(api), {JOB: 6})
    # {0,3} holds 10..8, {3,6} holds 7..5 and reaches the bookmark: nothing older is asked for.
    assert ranges(api) == ["{0,3}", "{3,6}"]
    assert [r.payload["number"] for r in records] == [10, 9, 8, 7]
    assert checkpoints == [Checkpoint("builds", JOB, 10)]


def test_a_first_sync_pages_every_range_until_a_short_one(httpserver: HTTPServer) -> None:
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: jenkins_builds(JOB, 6, 1)})
    records, checkpoints = sync(connector(api))
    # Six builds fill two ranges of three: the empty third range is what says the list has ended.
    assert ranges(api) == ["{0,3}", "{3,6}", "{6,9}"]
    assert [r.payload["number"] for r in records] == [6, 5, 4, 3, 2, 1]
    assert checkpoints == [Checkpoint("builds", JOB, 6)]


def test_builds_still_running_are_read_again_and_the_bookmark_waits_below_them(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Builds 4 and 6 are running (pipelines can overlap): the position stays at 3, so the next sync reads 4 to 7
    again, lands their results, and moves the position to 7. Stored in `raw_state.cursors` as a position."""
    builds = jenkins_builds(JOB, 6, 1)
    for build in builds:
        if build["number"] in (4, 6):
            build.update(building=True, result=None, duration=0)
    jobs = {JOB: builds}
    api = FakeApi(httpserver)
    serve_jenkins(api, jobs)
    db = tmp_path / "w.duckdb"
    sync_into(db, connector(api), sync_id="first")
    with connect(db) as con:
        assert load_cursors(con, "jenkins") == {("builds", JOB): 3}

    jobs[JOB] = jenkins_builds(JOB, 7, 1)  # 4 and 6 have finished, 7 is new
    api.requests.clear()
    sync_into(db, connector(api), sync_id="second")
    assert ranges(api) == ["{0,3}", "{3,6}"], "down to the range that reaches the bookmark"
    rows = {pk: json.loads(payload) for pk, _, _, payload in raw_rows(db)["raw_jenkins.builds"]}
    assert [rows[f"{JOB}:{n}"]["result"] for n in (4, 6)] == ["FAILURE", "SUCCESS"], "their results landed"
    assert len(rows) == 7
    with connect(db) as con:
        assert load_cursors(con, "jenkins") == {("builds", JOB): 7}
        moved = con.execute("select cursor, position from raw_state.cursors where source = 'jenkins'").fetchall()
    assert moved == [(None, 7)], "a position, with no time beside it"


def test_since_reads_the_builds_from_that_date_on(httpserver: HTTPServer, tmp_path: Path) -> None:
    """`--since 2026-01-09`: the builds whose timestamp is on or after midnight UTC of that day, newest first,
    paging no further than the range that reaches an older build; the stored bookmark is kept."""
    builds = jenkins_builds(JOB, 9, 1)
    for build in builds:  # build n on 2026-01-0n, at 23:30
        build["timestamp"] = int(datetime(2026, 1, build["number"], 23, 30, tzinfo=UTC).timestamp() * 1000)
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: builds})
    db = tmp_path / "w.duckdb"
    sync_into(db, connector(api))
    with connect(db) as con:
        con.execute("delete from raw_jenkins.builds")
    api.requests.clear()
    sync_into(db, connector(api), SyncOptions(since=date(2026, 1, 6)))
    landed = sorted(json.loads(p)["number"] for _, _, _, p in raw_rows(db)["raw_jenkins.builds"])
    assert landed == [6, 7, 8, 9]
    assert ranges(api) == ["{0,3}", "{3,6}"]
    with connect(db) as con:
        assert load_cursors(con, "jenkins") == {("builds", JOB): 9}


def test_timestamps_are_epoch_milliseconds(httpserver: HTTPServer) -> None:
    builds = jenkins_builds(JOB, 1, 1)
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: builds})
    (record,), _ = sync(connector(api))
    assert record.cursor == datetime.fromtimestamp(builds[0]["timestamp"] / 1000, UTC)
    assert record.cursor.microsecond == 123_000
    assert record.payload["timestamp"] == builds[0]["timestamp"], "the payload lands verbatim"


def test_only_the_tree_fields_land_with_every_build_data_action(httpserver: HTTPServer) -> None:
    builds = jenkins_builds(JOB, 3, 1)
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: builds})
    records, _ = sync(connector(api))
    build_data = [
        a for a in records[1].payload["actions"] if a.get("_class") == "hudson.plugins.git.util.BuildData"
    ]  # build 2: the application's checkout and a shared library's, as recorded
    assert [a["remoteUrls"] for a in build_data] == [
        ["https://github.com/acme/shop.git"],
        ["https://github.com/example-org/jenkins-shared-lib.git"],
    ]
    assert set(records[1].payload) <= {
        "_class",
        "number",
        "url",
        "result",
        "building",
        "timestamp",
        "duration",
        "actions",
    }
    assert {} in records[1].payload["actions"], "actions the tree does not select stay as {}"


def test_basic_credentials_go_with_the_first_request(httpserver: HTTPServer) -> None:
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: jenkins_builds(JOB, 1, 1)})
    sync(connector(api))
    expected = "Basic " + base64.b64encode(f"{JENKINS_USER}:{TOKEN}".encode()).decode()
    assert api.requests[0].headers.get("Authorization") == expected


def test_missing_credentials_fail_on_jenkins_403(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: jenkins_builds(JOB, 1, 1)})
    jenkins = connector(api)
    jenkins.client = JenkinsConnector.make_client(jenkins.settings.model_copy(update={"user": None}))
    jenkins.client.sleep = lambda seconds: pytest.fail(f"a 403 without Retry-After is not retried ({seconds}s)")
    with pytest.raises(ConnectorError, match="answered 403") as failure:
        sync(jenkins)
    assert TOKEN not in str(failure.value)


@pytest.mark.parametrize(("name", "problem"), [("deploy", "lists no builds"), ("deploy/nope", "answered 404")])
def test_a_folder_or_an_unknown_job_fails_naming_it(httpserver: HTTPServer, name: str, problem: str) -> None:
    api = FakeApi(httpserver)
    serve_jenkins(api, {JOB: jenkins_builds(JOB, 1, 1)})
    with pytest.raises(ConnectorError, match=problem):
        sync(connector(api, name))


def test_mapping_key_and_validation() -> None:
    assert JenkinsMapping(jobs=["b/x", "a/y"]).key() == "a/y,b/x"
    for jobs in ([], ["deploy//x"], ["/x"]):
        with pytest.raises(ValueError):
            JenkinsMapping(jobs=jobs)
