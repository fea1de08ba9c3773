"""Compare the marts of two builds of opmetrics row by row, over the same served sample organisation.

A refactoring of the dbt project must not change a figure. Run `export` on the commit before the change and on the
one after it (each serves the same seeded organisation, runs the daily job and writes every mart as Parquet), then
`compare` the two folders:

    python -m tools.marts_diff export /tmp/before      # on the old commit
    python -m tools.marts_diff export /tmp/after       # on the new commit
    python -m tools.marts_diff compare /tmp/before /tmp/after

Columns are compared by name, as text (a type change such as bigint -> varchar of the same values is no difference);
columns only one side has are listed, not compared. Exit status 1 when a shared column differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

import duckdb

END = dt.date(2026, 6, 30)
SCHEMAS = ("marts", "quarantine")


def export(out: Path, services: int, days: int, seed: int) -> None:
    """Serve the sample organisation, run the daily job into `out`, write each mart as `<schema>.<table>.parquet`."""
    from orchestration.cli import run_daily, serve_sample

    out.mkdir(parents=True, exist_ok=True)
    os.environ.update(DAGSTER_HOME=str(out / "dagster_home"), OPMETRICS_AS_OF=END.isoformat())
    with serve_sample(services=services, days=days, seed=seed, end=END, config_dir=out) as config:
        os.environ["OPMETRICS_CONFIG"] = str(config)
        if not run_daily():
            sys.exit("the daily run failed")
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ? order by all", [list(SCHEMAS)]
        ).fetchall()
        for schema, table in tables:
            con.execute(f"copy {schema}.{table} to '{out / f'{schema}.{table}.parquet'}' (format parquet)")
    print(f"exported {len(tables)} tables to {out}")


def compare(before: Path, after: Path) -> int:
    """Print the differences of every table both folders hold; returns the number of tables that differ."""
    names = sorted({p.name for p in before.glob("*.parquet")} | {p.name for p in after.glob("*.parquet")})
    differing = 0
    con = duckdb.connect()
    for name in names:
        table = name.removesuffix(".parquet")
        old, new = before / name, after / name
        if not old.exists() or not new.exists():
            print(f"{table}: only {'after' if new.exists() else 'before'}")
            continue
        old_cols = [r[0] for r in con.execute(f"describe select * from '{old}'").fetchall()]
        new_cols = [r[0] for r in con.execute(f"describe select * from '{new}'").fetchall()]
        shared = [c for c in old_cols if c in new_cols]
        extra = f" (new columns: {', '.join(c for c in new_cols if c not in old_cols)})" if new_cols != shared else ""
        gone = [c for c in old_cols if c not in new_cols]
        as_text = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in shared)
        only_old = con.execute(
            f"select count(*) from (select {as_text} from '{old}' except all select {as_text} from '{new}')"
        ).fetchone()[0]
        only_new = con.execute(
            f"select count(*) from (select {as_text} from '{new}' except all select {as_text} from '{old}')"
        ).fetchone()[0]
        rows = (
            con.execute(f"select count(*) from '{old}'").fetchone()[0],
            con.execute(f"select count(*) from '{new}'").fetchone()[0],
        )
        same = only_old == only_new == 0
        differing += not same
        status = "identical" if same else f"DIFFERENT: {only_old} rows only before, {only_new} only after"
        removed = f" (columns gone: {', '.join(gone)})" if gone else ""
        print(f"{table}: {rows[0]} -> {rows[1]} rows, {status} over {len(shared)} columns{extra}{removed}")
    return differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("export", help="run the sample organisation and export its marts")
    run.add_argument("out", type=Path)
    run.add_argument("--services", type=int, default=20)
    run.add_argument("--days", type=int, default=365)
    run.add_argument("--seed", type=int, default=7)
    diff = commands.add_parser("compare", help="compare two exports")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "export":
        export(args.out, args.services, args.days, args.seed)
    else:
        sys.exit(1 if compare(args.before, args.after) else 0)


if __name__ == "__main__":
    main()
