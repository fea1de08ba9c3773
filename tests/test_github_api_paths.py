"""GitHub through REST and through GraphQL: the same raw records, and dbt's staging models read the same rows.

The same sample organisation is synced once with `api: rest` and once with `api: graphql` into two warehouses.
Every raw table must hold the same `_pk`s, `_cursor`s and `_context`s, and every payload field staging reads the
same value (URLs, which REST builds on its own host, by what staging reads from them). Then dbt builds the GitHub
staging models on both, and their rows must be identical, apart from when they were loaded and the one column
GraphQL cannot fill (`is_production_environment`: REST's informational `production_environment` flag).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
import yaml

from connectors.base import Connector, dig
from orchestration.config import parse_catalog
from orchestration.dbt.project import DBT_PROJECT_DIR
from orchestration.raw.catalog import write_catalog
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import Organisation, SampleServer, generate, sample_tokens, token_environment
from tests.test_dbt_project import dbt

END = dt.date(2026, 6, 30)  # as tests.test_dbt_project's `dbt` builds (OPMETRICS_AS_OF)
APIS = ("rest", "graphql")

# What staging reads from each payload (dbt_project/models/staging/github/*.sql); a URL by the regex staging applies.
REPO_IN_URL = r"repos/([^/]+/[^/]+)/?$"
COMMIT_FIELDS = (
    "sha",
    "commit.author.name",
    "commit.author.email",
    "commit.author.date",
    "commit.committer.name",
    "commit.committer.email",
    "commit.committer.date",
    "commit.message",
    "parents[].sha",
)
STAGED: dict[str, tuple[str, ...]] = {
    "deployments": (
        "id", "sha", "ref", "task", "environment", "original_environment", "creator.login", "created_at",
        "updated_at", f"repository_url~{REPO_IN_URL}",
    ),
    "deployment_statuses": (
        "id", "state", "environment", "description", "created_at", "updated_at",
        r"deployment_url~deployments/(\d+)/?$", f"repository_url~{REPO_IN_URL}",
    ),
    "pull_requests": (
        "id", "number", "state", "title", "user.login", "base.ref", "base.repo.full_name", "head.ref", "head.sha",
        "merge_commit_sha", "created_at", "closed_at", "merged_at", "updated_at", "url~repos/([^/]+/[^/]+)/pulls/",
    ),
    "pull_commits": COMMIT_FIELDS,
    "commits": COMMIT_FIELDS,
}  # fmt: skip
# Staging columns that differ between any two loads, and the one GraphQL has no field for.
UNCOMPARED = {"loaded_at", "is_production_environment"}


def staged_value(payload: dict[str, Any], spec: str) -> Any:
    path, _, pattern = spec.partition("~")
    if path.endswith("[].sha"):
        return [p.get("sha") for p in payload.get(path.removesuffix("[].sha")) or []]
    value = dig(payload, path)
    if pattern and isinstance(value, str):
        found = re.search(pattern, value)
        return found[1] if found else None
    return value


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The organisation synced through each API, with its catalog, and the GitHub staging models built on it."""
    out = {}
    with served_catalog(generate(n_services=4, days=120, seed=21, end=END)) as data:
        for api in APIS:
            data["sources"]["github"]["api"] = api
            out[api], _ = sync_and_stage(data, "github", tmp_path_factory.mktemp(api))
    return out


@contextmanager
def served_catalog(org: Organisation) -> Iterator[dict[str, Any]]:
    """The organisation served on loopback with its tokens in the environment: its catalog, as a config file has it."""
    tokens = sample_tokens()
    with SampleServer(org, tokens=tokens) as server, pytest.MonkeyPatch.context() as mp:
        for variable, value in token_environment(tokens).items():
            mp.setenv(variable, value)
        yield yaml.safe_load(org.config_yaml(server.url))


def sync_and_stage(data: dict[str, Any], source: str, tmp: Path) -> tuple[Path, Connector]:
    """Sync `source` of the catalog `data` into a warehouse in `tmp`, with the catalog, and build the source's
    staging models on it: the warehouse and the connector that synced it."""
    catalog = parse_catalog(data)
    warehouse = tmp / "warehouse.duckdb"
    with connect(warehouse) as con:
        connector = catalog.connector(source)
        sync_source(con, connector, SyncOptions(), f"sync-{tmp.name}")
        write_catalog(con, catalog)
    built = dbt(["run", "--select", f"+path:models/staging/{source}"], warehouse, tmp / "target")
    assert built.returncode == 0, built.stdout[-3000:]
    return warehouse, connector


def github_rows(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Each raw GitHub table's rows as (_pk, _cursor, _context, payload), ordered by key."""
    with connect(warehouse, read_only=True) as con:
        return {
            f"raw_github.{stream}": con.execute(
                f"select _pk, _cursor, _context::varchar, payload::varchar from raw_github.{stream} order by _pk"
            ).fetchall()
            for stream in STAGED
        }


def test_the_same_raw_records(warehouses: dict[str, Path]) -> None:
    rest, graphql = (github_rows(warehouses[api]) for api in APIS)
    assert set(rest) == set(graphql) == {f"raw_github.{stream}" for stream in STAGED}
    for table, rows in rest.items():
        stream = table.removeprefix("raw_github.")
        assert rows, f"{table} is empty: nothing compared"
        assert [r[:3] for r in rows] == [r[:3] for r in graphql[table]], f"{table}: _pk, _cursor or _context differ"
        for (pk, *_, rest_payload), (_, *_, graphql_payload) in zip(rows, graphql[table], strict=True):
            a, b = orjson.loads(rest_payload), orjson.loads(graphql_payload)
            for spec in STAGED[stream]:
                assert staged_value(a, spec) == staged_value(b, spec), f"{table} {pk}: {spec}"
            assert staged_value(a, STAGED[stream][0]) is not None
        if stream == "deployments":
            assert all("production_environment" not in orjson.loads(r[3]) for r in graphql[table])


def staging_rows(
    warehouse: Path, model: str, uncompared: set[str] = UNCOMPARED
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The staging model's columns but `uncompared`, and its rows in those columns, sorted."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = [c for (c,) in con.execute(f"select column_name from (describe staging.{model})").fetchall()]
        kept = [c for c in columns if c not in uncompared]
        rows = con.execute(f"select {', '.join(kept)} from staging.{model} order by all").fetchall()
    return kept, rows


@pytest.mark.parametrize(
    "model",
    ["stg_github__deployments", "stg_github__deployment_statuses", "stg_github__pull_requests",
     "stg_github__pull_commits", "stg_github__commits"],
)  # fmt: skip
def test_the_same_staging_rows(warehouses: dict[str, Path], model: str) -> None:
    (rest_columns, rest), (graphql_columns, graphql) = (staging_rows(warehouses[api], model) for api in APIS)
    assert rest_columns == graphql_columns
    assert rest, f"{model} has no rows: nothing compared"
    assert rest == graphql


def test_graphql_cannot_tell_production_environments(warehouses: dict[str, Path]) -> None:
    """The one staging column the paths fill differently, and why it may: nothing past staging reads it."""
    query = "select count(*) filter (where is_production_environment is not null) from staging.stg_github__deployments"
    counts = {}
    for api in APIS:
        with duckdb.connect(str(warehouses[api]), read_only=True) as con:
            counts[api] = con.execute(query).fetchone()[0]
    assert counts["rest"] > 0 and counts["graphql"] == 0
    readers = [
        path
        for path in DBT_PROJECT_DIR.joinpath("models").rglob("*.sql")
        if "is_production_environment" in path.read_text() and "staging/github" not in str(path)
    ]
    assert readers == []
