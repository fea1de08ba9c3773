"""The quarantine rules, applied by dbt to records landed by the real loader, for every registered stream.

Record-level rules come from each stream's declaration, so every raw table of every registered connector gets them;
event rules apply to the contract models, so Opsgenie's alerts get the same treatment as PagerDuty's incidents, each
with its own source table and record.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from connectors.opsgenie import OpsgenieConnector
from connectors.registry import CONNECTORS
from orchestration.config import parse_catalog
from orchestration.raw.catalog import write_catalog
from orchestration.warehouse import connect, ensure_raw_table, merge_records
from tests.conftest import example
from tests.test_dbt_project import dbt

ALERTS = "raw_opsgenie.alerts"
STREAM = OpsgenieConnector.stream("alerts")
CATALOG = {
    "sources": {"opsgenie": {"api_url": "https://api.opsgenie.com"}},
    "services": [
        {
            "name": "payments",
            "team": "payments",
            "availability_target": 99.9,
            "operating_model": [{"model": "you_build_it_you_run_it", "from": "2024-01-01"}],
            "opsgenie": {"team": "payments-oncall"},
        }
    ],
}


def alert(alert_id: str | None, **changes: object) -> dict:
    """The recorded Opsgenie alert, closed a minute after it was created, with its own id."""
    record = json.loads(json.dumps(example("opsgenie/alerts")["data"][0]))
    record.update(
        id=alert_id, status="closed", createdAt="2026-06-01T10:00:00.000Z", updatedAt="2026-06-01T10:01:00.000Z"
    )
    record["report"] = {"closeTime": 60_000}
    record.update(changes)
    return record


def land(con: duckdb.DuckDBPyConnection, records: list[dict], team: str = "payments-oncall", sync: str = "s1") -> None:
    """Merge alerts into the raw table exactly as a sync of `team` does."""
    merge_records(con, ALERTS, [STREAM.to_record(r, {"team": team}) for r in records], sync, STREAM.version_path)


@pytest.fixture(scope="module")
def quarantine(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], dict | None]:
    """(source table, record id, reason) -> the kept source record, after dbt ran over the bad records."""
    tmp = tmp_path_factory.mktemp("quarantine")
    warehouse = tmp / "w.duckdb"
    with connect(warehouse) as con:
        for name, cls in CONNECTORS.items():
            for stream in cls.streams:
                table = ensure_raw_table(con, name, stream.name)
                # every registered stream: one record without its identifier, one whose timestamps do not parse
                bad_time = {field: "yesterday" for field in stream.parsed_timestamps}
                con.execute(
                    f"insert into {table} values ('nokey:{name}.{stream.name}', null, '{{}}', ?, now(), 's0'),"
                    f" ('{name}.{stream.name}.bad-time', null, '{{}}', ?, now(), 's0')",
                    [json.dumps({"probe": stream.name}), json.dumps(_nested(bad_time))],
                )
        write_catalog(con, parse_catalog(CATALOG))
        land(con, [alert("GOOD")])
        land(con, [alert("TWICE"), alert("TWICE", message="the same alert, other content")])
        land(con, [alert("BACKWARDS", report={"closeTime": -3_600_000})])
        land(con, [alert("ORPHAN")], team="nobody-oncall")
    result = dbt(["build", "--select", "+quarantined_records", "--exclude-resource-type", "test", "unit_test"],
                 warehouse, tmp / "target")  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select source_table, record_id, reason, source_record from quarantine.quarantined_records")
        return {(t, r, reason): json.loads(rec) if rec else None for t, r, reason, rec in rows.fetchall()}


def _nested(flat: dict[str, str]) -> dict:
    """{"fields.created": x} -> {"fields": {"created": x}}: a payload holding each dotted field."""
    out: dict = {}
    for dotted, value in flat.items():
        node = out
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


@pytest.mark.parametrize("table", sorted(f"raw_{n}.{s.name}" for n, c in CONNECTORS.items() for s in c.streams))
def test_every_stream_gets_the_record_level_rules_from_its_declaration(quarantine: dict, table: str) -> None:
    source, stream = table.removeprefix("raw_").split(".")
    assert (table, f"nokey:{source}.{stream}", "null_identifier") in quarantine
    fields = CONNECTORS[source].stream(stream).parsed_timestamps
    reasons = {r for t, i, r in quarantine if (t, i) == (table, f"{source}.{stream}.bad-time")}
    assert ("unparsable_timestamp" in reasons) == bool(fields), reasons


def test_opsgenie_alerts_get_every_rule_with_their_own_table_and_record(quarantine: dict) -> None:
    twice = [i for t, i, r in quarantine if t == ALERTS and r == "conflicting_duplicate"]
    assert sorted(twice)[0] == "TWICE" and sorted(twice)[1].startswith("conflict:TWICE:"), twice
    assert quarantine[(ALERTS, "BACKWARDS", "resolved_before_triggered")]["id"] == "BACKWARDS"
    assert quarantine[(ALERTS, "ORPHAN", "unknown_service")]["id"] == "ORPHAN"
    assert quarantine[(ALERTS, "nokey:opsgenie.alerts", "null_identifier")] == {"probe": "alerts"}
    assert not [key for key in quarantine if key[1] == "GOOD"], "a good alert is not quarantined"
    assert all(t.startswith("raw_") for t, _, _ in quarantine), "every row names its raw table"
