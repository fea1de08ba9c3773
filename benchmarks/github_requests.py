"""GitHub requests per record of a first sync, through REST and through GraphQL. Not a test: a benchmark.

    .venv/bin/python -m benchmarks.github_requests [--services 30] [--days 365] [--seed 7] [--rounds 1]

The sample organisation is served from a child process (so server and sync each get a core) and its GitHub source
synced from scratch into a fresh DuckDB file with `api: rest`, then with `api: graphql` (alternating, `--rounds`
times). Prints per path the sync time, the requests made (GraphQL queries and REST requests), the records landed,
requests per record, and the GraphQL points charged (`rateLimit.cost`), from another hourly budget than REST's.

Mainline commits are REST's `/commits` on the REST path and the branch's `history` on the GraphQL path (100 commits
a page either way). On the GraphQL path a repository's first page of history comes in its `Repository` query, with
its first pages of deployments and pull requests; the queries of its further pages (`Commits`) and their points are
printed apart.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connectors.github import GithubConnector
from orchestration.config import parse_catalog
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import sample_tokens, token_environment
from sample_org.process import serve_in_subprocess


@dataclass
class Sync:
    """One first sync of the GitHub source."""

    seconds: float
    requests: int  # every HTTP request answered (GraphQL queries included)
    queries: int  # GraphQL queries
    points: int  # GraphQL points charged
    records: int  # records landed, all streams
    repository_queries: int  # GraphQL `Repository` queries: each repository's first page of every listing
    history_queries: int  # GraphQL queries of mainline commits past the first page (`Commits`)
    history_points: int


def first_sync(catalog: dict[str, Any], api: str, folder: Path) -> Sync:
    """Sync the catalog's GitHub source through `api` into a new warehouse."""
    data = copy.deepcopy(catalog)
    data["sources"]["github"]["api"] = api
    parsed = parse_catalog(data)
    mappings = {s.name: s.sources["github"] for s in parsed.services if "github" in s.sources}
    connector = GithubConnector(parsed.sources["github"], mappings)
    with connect(folder / f"{api}-{time.monotonic_ns()}.duckdb") as con:
        started = time.perf_counter()
        merged = sync_source(con, connector, SyncOptions(), f"bench-{api}")
        seconds = time.perf_counter() - started
    graphql = connector.graphql
    return Sync(
        seconds,
        connector.client.requests_made,
        sum(graphql.queries.values()),
        sum(graphql.points.values()),
        sum(merged.values()),
        graphql.queries["Repository"],
        graphql.queries["Commits"],
        graphql.points["Commits"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    tokens = sample_tokens()
    os.environ.update(token_environment(tokens))
    today = dt.datetime.now(dt.UTC).date()
    runs: dict[str, list[Sync]] = {"rest": [], "graphql": []}
    with (
        serve_in_subprocess(args.services, args.days, args.seed, today, tokens=tokens) as (_, catalog_yaml),
        tempfile.TemporaryDirectory() as tmp,
    ):
        catalog = yaml.safe_load(catalog_yaml)
        for _ in range(args.rounds):
            for api in runs:
                runs[api].append(first_sync(catalog, api, Path(tmp)))

    print(f"sample organisation: {args.services} services x {args.days} days, ending {today}; GitHub source only")
    print(f"{'api':<8} {'seconds':>8} {'requests':>9} {'graphql':>8} {'rest':>6} {'records':>8} {'req/record':>11}"
          f" {'points':>7} {'points/record':>14}")  # fmt: skip
    per_record = {}
    for api, syncs in runs.items():
        last = syncs[-1]
        seconds = statistics.median(s.seconds for s in syncs)
        per_record[api] = last.requests / last.records
        print(f"{api:<8} {seconds:>8.2f} {last.requests:>9} {last.queries:>8} {last.requests - last.queries:>6}"
              f" {last.records:>8} {per_record[api]:>11.4f} {last.points:>7}"
              f" {last.points / last.records:>14.4f}")  # fmt: skip
    print(f"GraphQL makes {per_record['rest'] / per_record['graphql']:.1f} times fewer requests per record than REST")
    last = runs["graphql"][-1]
    print(
        f"of which mainline commits (GraphQL history): the first page of each repository in its `Repository` query"
        f" ({last.repository_queries}, with its deployments and pull requests), then {last.history_queries}"
        f" `Commits` queries, {last.history_points} points"
    )


if __name__ == "__main__":
    main()
