"""Every connector against the sample organisation's server: all of its records, once, with no secret logged."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connectors.registry import CONNECTORS
from orchestration.config import Catalog, parse_catalog
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import Organisation, SampleServer, generate, token_environment

TOKENS = {"github": "gh-sample-secret", "pagerduty": "pd-sample-secret", "jira_user": "bot", "jira": "jira-secret"}


@pytest.fixture(scope="module")
def org() -> Organisation:
    return generate(n_services=4, days=120, seed=3, end=dt.date(2026, 6, 1))


@pytest.fixture
def catalog(org: Organisation, monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    for variable, value in token_environment(TOKENS).items():
        monkeypatch.setenv(variable, value)
    with SampleServer(org, tokens=TOKENS) as server:
        yield parse_catalog(yaml.safe_load(org.config_yaml(server.url)))


def expected_counts(org: Organisation) -> dict[str, int]:
    repos = org.github.values()
    closed = [p for r in repos for p in r.pulls if p["state"] == "closed"]
    merged = {(r.full_name, p["number"]) for r in repos for p in r.pulls if p.get("merged_at")}
    counts = {k: v for k, v in org.counts().items() if not k.startswith("opsgenie.")}
    counts["github.pull_requests"] = len(closed)
    counts["github.pull_commits"] = sum(
        len(commits) for r in repos for n, commits in r.pull_commits.items() if (r.full_name, n) in merged
    )
    return counts


def sync_all(catalog: Catalog, db: Path) -> dict[str, int]:
    counts = {}
    with connect(db) as con:
        for name in ("github", "pagerduty", "jira"):
            sync_source(con, catalog.connector(name), SyncOptions(), "test")
            for stream in CONNECTORS[name].streams:
                counts[f"{name}.{stream.name}"] = con.execute(
                    f"select count(*) from raw_{name}.{stream.name}"
                ).fetchone()[0]
    return counts


def test_connectors_read_the_whole_sample_organisation(
    org: Organisation, catalog: Catalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        counts = sync_all(catalog, tmp_path / "w.duckdb")
    assert counts == expected_counts(org)
    assert "records/s" in caplog.text  # progress is logged
    for secret in TOKENS.values():
        assert secret not in caplog.text


def test_second_sync_adds_no_rows(catalog: Catalog, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    first = sync_all(catalog, db)
    assert sync_all(catalog, db) == first


def test_wrong_token_fails_clearly(org: Organisation, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = catalog.sources["github"].model_copy(update={"token": None})
    mappings = {s.name: s.sources["github"] for s in catalog.services}
    connector = CONNECTORS["github"](settings, mappings)
    with pytest.raises(Exception, match="answered 401"):
        list(connector.sync(lambda s, p: None))
