"""Opsgenie: the recorded examples' quirks, and the whole sample organisation's alerts and incidents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from connectors.opsgenie import OpsgenieConnector, OpsgenieMapping
from connectors.timeparse import parse_timestamp
from orchestration.config import parse_catalog
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import Organisation, SampleServer, generate
from tests.conftest import example
from tests.raw.snapshots import raw_rows

KEY = "og-test-secret"


def test_recorded_pages_conflict_and_both_versions_land_verbatim(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both recorded examples repeat one id with the same updatedAt and other content: a conflict. The first
    version lands under the id, the second beside it under a `conflict:` key, both untouched."""
    for path, name in (("/v2/alerts", "opsgenie/alerts"), ("/v1/incidents", "opsgenie/incidents")):
        body = {k: v for k, v in example(name).items() if k != "paging"}  # one page: its `next` is api.opsgenie.com
        httpserver.expect_request(path, headers={"Authorization": f"GenieKey {KEY}"}).respond_with_json(body)
    monkeypatch.setenv("OG_TEST_KEY", KEY)
    settings = OpsgenieConnector.settings_model(api_url=httpserver.url_for("/"), token="env:OG_TEST_KEY")
    connector = OpsgenieConnector(settings, {"ops": OpsgenieMapping(team="ops")})
    with connect(tmp_path / "w.duckdb") as con:
        merged = sync_source(con, connector, SyncOptions(), "s")
    assert merged == {"alerts": 2, "incidents": 2}
    rows = raw_rows(tmp_path / "w.duckdb")
    for table, name in (("raw_opsgenie.alerts", "opsgenie/alerts"), ("raw_opsgenie.incidents", "opsgenie/incidents")):
        first, second = example(name)["data"]
        assert first["id"] == second["id"] and first["updatedAt"] == second["updatedAt"] and first != second
        (pk, cursor, context, payload), (conflict_pk, _, _, conflict_payload) = rows[table]
        assert (pk, cursor, json.loads(context), json.loads(payload)) == (
            first["id"],
            parse_timestamp(first["updatedAt"]),  # the cursor is updatedAt, milliseconds kept
            {"team": "ops"},
            first,
        )
        assert conflict_pk.startswith(f"conflict:{first['id']}:") and json.loads(conflict_payload) == second
    assert httpserver.log[0][0].args["query"] == "teams:ops"


@pytest.fixture(scope="module")
def og_org() -> Organisation:
    return generate(n_services=4, days=90, seed=5, end=dt.date(2026, 6, 1), opsgenie_services=2)


def test_reads_every_alert_and_incident_of_the_sample_organisation(
    og_org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMPLE_OPSGENIE_TOKEN", KEY)
    with SampleServer(og_org, tokens={"opsgenie": KEY}) as server:
        catalog = yaml.safe_load(og_org.config_yaml(server.url))
        catalog["sources"] = {"opsgenie": {**catalog["sources"]["opsgenie"], "page_size": 2}}
        for service in catalog["services"]:
            service.pop("github"), service.pop("pagerduty", None), service.pop("jira")
        parsed = parse_catalog(catalog)
        mappings = {s.name: s.sources["opsgenie"] for s in parsed.services if "opsgenie" in s.sources}
        assert len(mappings) == 2
        db = tmp_path / "w.duckdb"
        first = OpsgenieConnector(parsed.sources["opsgenie"], mappings)
        with connect(db) as con:
            sync_source(con, first, SyncOptions(), "first")
        rows = raw_rows(db)
        second = OpsgenieConnector(parsed.sources["opsgenie"], mappings)
        with connect(db) as con:
            sync_source(con, second, SyncOptions(), "second")
            touched = con.execute("select count(*) from raw_opsgenie.alerts where _sync_id = 'second'").fetchone()[0]

    for table, records in (
        ("raw_opsgenie.alerts", og_org.opsgenie_alerts),
        ("raw_opsgenie.incidents", og_org.opsgenie_incidents),
    ):
        assert {pk: json.loads(payload) for pk, _, _, payload in rows[table]} == {r["id"]: r for r in records}
        assert all(cursor == parse_timestamp(json.loads(payload)["updatedAt"]) for _, cursor, _, payload in rows[table])
    closed = [json.loads(p) for _, _, _, p in rows["raw_opsgenie.alerts"] if json.loads(p)["status"] == "closed"]
    assert closed and all(isinstance(a["report"]["closeTime"], int) for a in closed), "milliseconds kept verbatim"
    # The second sync reads only the lookback window of each team, and changes nothing.
    assert raw_rows(db) == rows
    assert second.client.requests_made < first.client.requests_made
    assert touched < len(rows["raw_opsgenie.alerts"])
