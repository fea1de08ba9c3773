"""Incremental syncs: a second sync of unchanged sources adds nothing and reads only the lookback window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from orchestration.config import Catalog, parse_catalog
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import SampleServer, generate
from tests.raw.snapshots import raw_rows
from tests.raw.test_crash_resume import ENV, TOKENS


def sync_all(catalog: Catalog, db: Path, sync_id: str) -> dict[str, int]:
    """Sync every configured source; returns the requests each made."""
    requests = {}
    with connect(db) as con:
        for name in sorted(catalog.sources):
            connector = catalog.connector(name)
            sync_source(con, connector, SyncOptions(), sync_id)
            requests[name] = connector.client.requests_made
    return requests


def rows_merged_by(db: Path, sync_id: str) -> int:
    with connect(db, read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema like 'raw\\_%' escape '\\' and table_schema <> 'raw_state'"
        ).fetchall()
        return sum(
            con.execute(f"select count(*) from {table} where _sync_id = ?", [sync_id]).fetchone()[0]
            for (table,) in tables
        )


def test_second_sync_adds_nothing_and_reads_only_the_lookback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    # Ends today, as a live organisation does: the lookback window then holds the last few days' records.
    org = generate(n_services=3, days=60, seed=5, end=dt.datetime.now(dt.UTC).date(), opsgenie_services=1)
    db = tmp_path / "w.duckdb"
    with SampleServer(org, tokens=TOKENS) as server:
        catalog = parse_catalog(yaml.safe_load(org.config_yaml(server.url)))
        first = sync_all(catalog, db, "first")
        first_rows = raw_rows(db)
        second = sync_all(catalog, db, "second")

    assert raw_rows(db) == first_rows, "the second sync added or changed rows"
    total = sum(map(len, first_rows.values()))
    remerged = rows_merged_by(db, "second")
    assert 0 < remerged < total / 4, f"the second sync re-merged {remerged} of {total} rows"
    assert all(second[name] <= first[name] for name in first), (first, second)
    # What is left is a page of the lookback per stream and partition: GitHub's first sync already reads a whole page
    # of deployments (or pull requests) with their statuses (or commits) per query, so its second reads one page of
    # each of its three streams per repository, all three in one query, and up to `repositories_per_query` (20)
    # repositories a query (`Repositories`), in as many batches as readers at once (`partitions_ahead`, 2);
    # PagerDuty's pages through history the first time only.
    repos = {s.sources["github"].repo for s in catalog.services if "github" in s.sources}
    assert first["github"] == len(repos) >= 2, (first, second)
    assert second["github"] == 2, (first, second)
    assert second["pagerduty"] < first["pagerduty"] / 4, (first, second)
    print(f"requests, first and second sync: {first}, {second}; rows re-merged: {remerged} of {total}")
