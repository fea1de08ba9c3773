"""GitLab's merge requests' commits through REST and through GraphQL: the same raw records, the same staging rows.

The same sample organisation (every service on GitLab) is synced once with `api: rest` and once with `api: graphql`
into two warehouses. Every raw GitLab table must hold the same `_pk`s, `_cursor`s and `_context`s; every payload the
same fields, but for the two REST has and GraphQL cannot give (`trailers`, `extended_trailers`: nothing reads them),
and times the same instants in the same offset (GraphQL's `Time` has no milliseconds: `...T19:52:03+02:00` where
REST writes `...T19:52:03.000+02:00`). Then dbt builds the GitLab staging models on both, and their rows must be
identical but for when they were loaded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from connectors.timeparse import parse_timestamp
from orchestration.warehouse import connect
from sample_org import generate
from tests.test_github_api_paths import served_catalog, staging_rows, sync_and_stage

END = dt.date(2026, 6, 30)  # as tests.test_dbt_project's `dbt` builds (OPMETRICS_AS_OF)
APIS = ("rest", "graphql")
STREAMS = ("merge_requests", "merge_request_commits", "commits", "deployments")
REST_ONLY = {"trailers", "extended_trailers"}  # a merge request commit's fields GitLab's GraphQL has no field for
TIMES = ("authored_date", "committed_date", "created_at")


def as_instants(commit: dict[str, Any]) -> dict[str, Any]:
    """A merge request commit's payload with its times as instants with their offsets, however they are written."""
    return commit | {k: (parse_timestamp(commit[k]), commit[k][-6:]) for k in TIMES}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """Each API's warehouse, with the GitLab staging models built on it, and the requests its sync sent."""
    out = {}
    with served_catalog(generate(n_services=4, days=150, seed=23, end=END, deployment_source="gitlab")) as data:
        for api in APIS:
            # Pages of 5 and 3 merge requests a query: listings, nested commits and batches all take several.
            data["sources"]["gitlab"] |= {"api": api, "page_size": 5, "merge_requests_per_query": 3}
            warehouse, connector = sync_and_stage(data, "gitlab", tmp_path_factory.mktemp(api))
            out[api] = (warehouse, connector.client.requests_made)
    return out


def gitlab_rows(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Each raw GitLab table's rows as (_pk, _cursor, _context, payload), ordered by key."""
    with connect(warehouse, read_only=True) as con:
        return {
            stream: con.execute(
                f"select _pk, _cursor, _context::varchar, payload::varchar from raw_gitlab.{stream} order by _pk"
            ).fetchall()
            for stream in STREAMS
        }


def test_the_same_raw_records(synced: dict[str, tuple[Path, int]]) -> None:
    rest, graphql = (gitlab_rows(synced[api][0]) for api in APIS)
    for stream in STREAMS:
        assert rest[stream], f"raw_gitlab.{stream} is empty: nothing compared"
        assert [r[:3] for r in rest[stream]] == [r[:3] for r in graphql[stream]], f"{stream}: keys differ"
        for (pk, *_, rest_payload), (*_, graphql_payload) in zip(rest[stream], graphql[stream], strict=True):
            expected = orjson.loads(rest_payload)
            if stream == "merge_request_commits":
                assert set(expected) >= REST_ONLY, "REST's payload is not what this test thinks it is"
                expected = as_instants({k: v for k, v in expected.items() if k not in REST_ONLY})
                assert as_instants(orjson.loads(graphql_payload)) == expected, f"{stream} {pk}"
            else:
                assert orjson.loads(graphql_payload) == expected, f"{stream} {pk}"


def test_graphql_reads_the_commits_of_many_merge_requests_a_request(synced: dict[str, tuple[Path, int]]) -> None:
    (rest_db, rest_requests), (_, graphql_requests) = (synced[api] for api in APIS)
    with duckdb.connect(str(rest_db), read_only=True) as con:
        (merge_requests,) = con.execute("select count(*) from raw_gitlab.merge_requests").fetchone()
    assert merge_requests >= 20, "too few merge requests to compare"
    # REST asks once a merge request for its commits; GraphQL once every 3 (and again for the longer ones).
    assert rest_requests - graphql_requests >= merge_requests // 2


@pytest.mark.parametrize(
    "model",
    ["stg_gitlab__merge_requests", "stg_gitlab__merge_request_commits", "stg_gitlab__commits",
     "stg_gitlab__deployments", "stg_gitlab__deployment_statuses"],
)  # fmt: skip
def test_the_same_staging_rows(synced: dict[str, tuple[Path, int]], model: str) -> None:
    rest_columns, rest = staging_rows(synced["rest"][0], model, {"loaded_at"})
    graphql_columns, graphql = staging_rows(synced["graphql"][0], model, {"loaded_at"})
    assert rest_columns == graphql_columns
    assert rest, f"{model} has no rows: nothing compared"
    assert rest == graphql
