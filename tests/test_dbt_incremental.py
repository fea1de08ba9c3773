"""The incremental models type each raw record once, and the unions of event kinds re-read only what was typed
since their last run.

These tests tamper with a record behind the loader's back (its payload, or its typed row, changes; its `_loaded_at`
does not), which no real sync does: that is what shows whether a run re-read the record or kept what it had.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from connectors.registry import CONNECTORS
from orchestration.config import parse_catalog
from orchestration.dbt.project import DBT_PROJECT_DIR
from orchestration.raw.catalog import write_catalog
from orchestration.warehouse import connect, ensure_raw_table, merge_records
from tests.test_config import GOOD
from tests.test_dbt_project import dbt

MODELS = ["+base_github__deployments", "+int_raw_timestamp_checks"]


def deployment(deployment_id: int, created_at: str, environment: str = "production") -> str:
    return json.dumps(
        {"id": deployment_id, "sha": "a" * 40, "ref": "main", "environment": environment, "created_at": created_at,
         "updated_at": created_at, "repository_url": "https://api.github.com/repos/acme/checkout"}
    )  # fmt: skip


def load(warehouse: Path, rows: list[tuple[str, str, str]]) -> None:
    """Upsert raw deployments as the loader does: (key, payload, loaded_at)."""
    with duckdb.connect(str(warehouse)) as con:
        for pk, payload, loaded_at in rows:
            con.execute("delete from raw_github.deployments where _pk = ?", [pk])
            con.execute(
                "insert into raw_github.deployments (_pk, payload, _loaded_at, _sync_id)"
                " values (?, ?, ?::timestamptz, 'sync-' || ?)",
                [pk, payload, loaded_at, loaded_at],
            )


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def environments(warehouse: Path) -> dict[str, str]:
    return dict(query(warehouse, "select record_id, environment from staging.base_github__deployments"))


def unparsable(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        "select record_id, unparsable_fields from intermediate.int_raw_timestamp_checks"
        " where source_table = 'raw_github.deployments' and len(unparsable_fields) > 0 order by 1",
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    os.environ.setdefault("TEST_GITHUB_TOKEN", "x")
    os.environ.setdefault("TEST_PD_TOKEN", "x")
    with connect(path) as con:
        for name, cls in CONNECTORS.items():
            for stream in cls.streams:
                ensure_raw_table(con, name, stream.name)
        write_catalog(con, parse_catalog(GOOD))
    return path


def run(warehouse: Path, tmp_path: Path, *extra: str) -> None:
    result = dbt(["run", "--select", *MODELS, *extra], warehouse, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_run_types_only_what_was_loaded_since_the_last(warehouse: Path, tmp_path: Path) -> None:
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z"), "2026-06-02 00:00:00+00"),
                     ("2", deployment(2, "2026-06-01T11:00:00Z"), "2026-06-02 00:00:00+00")])  # fmt: skip
    run(warehouse, tmp_path)
    assert environments(warehouse) == {"1": "production", "2": "production"}

    # record 1 changed behind the loader's back (same _loaded_at): a run leaves it as typed
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z", "tampered"), "2026-06-02 00:00:00+00")])
    # record 2 updated by a later sync, record 3 new: a run types both
    load(warehouse, [("2", deployment(2, "2026-06-01T11:00:00Z", "staging"), "2026-06-03 00:00:00+00"),
                     ("3", deployment(3, "2026-06-02T09:00:00Z"), "2026-06-03 00:00:00+00")])  # fmt: skip
    run(warehouse, tmp_path)
    assert environments(warehouse) == {"1": "production", "2": "staging", "3": "production"}

    # --full-refresh types every record again
    run(warehouse, tmp_path, "--full-refresh")
    assert environments(warehouse)["1"] == "tampered"


def test_a_change_of_the_model_code_types_every_record_again(warehouse: Path, tmp_path: Path) -> None:
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z"), "2026-06-02 00:00:00+00")])
    run(warehouse, tmp_path)
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z", "tampered"), "2026-06-02 00:00:00+00")])
    # what a new version of the model's SQL or of a macro leaves behind: a digest that is not the code's
    with duckdb.connect(str(warehouse)) as con:
        con.execute("comment on table staging.base_github__deployments is 'built by older code'")
    run(warehouse, tmp_path)
    assert environments(warehouse) == {"1": "tampered"}


def test_timestamps_are_checked_once_and_again_when_redelivered(warehouse: Path, tmp_path: Path) -> None:
    load(warehouse, [("1", deployment(1, "yesterday"), "2026-06-02 00:00:00+00"),
                     ("2", deployment(2, "2026-06-01T11:00:00Z"), "2026-06-02 00:00:00+00")])  # fmt: skip
    run(warehouse, tmp_path)
    assert unparsable(warehouse) == [("1", ["created_at"])]

    # record 2 broken behind the loader's back (same _loaded_at): a second run does not check it again
    load(warehouse, [("2", deployment(2, "tomorrow"), "2026-06-02 00:00:00+00")])
    run(warehouse, tmp_path)
    assert unparsable(warehouse) == [("1", ["created_at"])]

    # the source corrects record 1 and a later sync re-delivers it: the finding goes
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z"), "2026-06-03 00:00:00+00")])
    run(warehouse, tmp_path)
    assert unparsable(warehouse) == []
    rows = query(warehouse, "select count(*) from intermediate.int_raw_timestamp_checks"
                            " where source_table = 'raw_github.deployments'")  # fmt: skip
    assert rows == [(2,)], "one row per raw record, however often it was checked"


def test_a_change_of_a_macro_types_every_record_again(warehouse: Path, tmp_path: Path) -> None:
    """The digest covers the project's macros, not only the model's SQL: a new `to_utc_timestamp` re-types."""
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z"), "2026-06-02 00:00:00+00")])
    run(warehouse, tmp_path)
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z", "tampered"), "2026-06-02 00:00:00+00")])
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    macro = project / "macros" / "to_utc_timestamp.sql"
    header = "{% macro to_utc_timestamp(expression) -%}"
    macro.write_text(macro.read_text().replace(header, header + "\n    {#- a new version -#}", 1))

    result = dbt(["run", "--select", *MODELS], warehouse, tmp_path / "target-new", project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert environments(warehouse) == {"1": "tampered"}


UNION = ["+int_deployments_unioned"]


def run_union(warehouse: Path, tmp_path: Path, *extra: str) -> None:
    result = dbt(["run", "--select", *UNION, *extra], warehouse, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]


def unioned(warehouse: Path) -> dict[str, tuple[str, str]]:
    return {
        record_id: (service, environment)
        for record_id, service, environment in query(
            warehouse, "select record_id, service, environment from intermediate.int_deployments_unioned"
        )
    }


def map_checkout_repository_to_search(warehouse: Path) -> None:
    """Edit the catalog: `acme/checkout` now belongs to the service `search`, and `checkout` maps another repository."""
    moved = copy.deepcopy(GOOD)
    moved["services"][0]["github"] = {"repo": "acme/checkout-legacy"}
    moved["services"][1]["github"] = {"repo": "acme/checkout"}
    with connect(warehouse) as con:
        write_catalog(con, parse_catalog(moved))


def test_a_union_re_reads_only_what_its_base_models_typed_since_its_last_run(warehouse: Path, tmp_path: Path) -> None:
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z"), "2026-06-02 00:00:00+00"),
                     ("2", deployment(2, "2026-06-01T11:00:00Z"), "2026-06-02 00:00:00+00")])  # fmt: skip
    run_union(warehouse, tmp_path)
    # no model rebuilding by service reads this union: it keeps no fingerprints (macros/incremental_union.sql)
    assert not query(warehouse, "select 1 from duckdb_tables() where table_name like 'int_deployments_unioned__%'")
    assert unioned(warehouse) == {"1": ("checkout", "production"), "2": ("checkout", "production")}

    # record 1's typed row changed behind the union's back: a run that unioned everything again would show it
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update staging.base_github__deployments set environment = 'tampered' where record_id = '1'")
    # record 2 updated by a later sync, record 3 new: a run unions both again
    load(warehouse, [("2", deployment(2, "2026-06-01T11:00:00Z", "staging"), "2026-06-03 00:00:00+00"),
                     ("3", deployment(3, "2026-06-02T09:00:00Z"), "2026-06-03 00:00:00+00")])  # fmt: skip
    run_union(warehouse, tmp_path)
    assert unioned(warehouse) == {
        "1": ("checkout", "production"),
        "2": ("checkout", "staging"),
        "3": ("checkout", "production"),
    }

    # a later sync delivers record 3 in two conflicting versions: it is quarantined whole, so it leaves the union
    load(warehouse, [("3", deployment(3, "2026-06-02T09:00:00Z", "canary"), "2026-06-04 00:00:00+00"),
                     ("conflict:3:0123456789ab", deployment(3, "2026-06-02T09:00:00Z", "blue"),
                      "2026-06-04 00:00:00+00")])  # fmt: skip
    run_union(warehouse, tmp_path)
    assert set(unioned(warehouse)) == {"1", "2"}

    # the catalog maps the repository to another service: every row is unioned again, record 1's tampering too
    map_checkout_repository_to_search(warehouse)
    run_union(warehouse, tmp_path)
    assert unioned(warehouse) == {"1": ("search", "tampered"), "2": ("search", "staging")}

    # which is what unioning everything again gives (the base model left as it is)
    before = sorted(query(warehouse, "select * from intermediate.int_deployments_unioned"))
    result = dbt(["run", "--select", "int_deployments_unioned", "--full-refresh"], warehouse, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(query(warehouse, "select * from intermediate.int_deployments_unioned")) == before


def sync_github(warehouse: Path, stream_name: str, context: dict[str, str], sync_id: str, *payloads: str) -> None:
    """Merge records of a GitHub stream with the real loader, one batch, as sync `sync_id` does."""
    stream = CONNECTORS["github"].stream(stream_name)
    records = [stream.to_record(json.loads(p), context) for p in payloads]
    with connect(warehouse) as con:
        merge_records(con, f"raw_github.{stream_name}", records, sync_id, stream.version_field)


def sync(warehouse: Path, sync_id: str, *payloads: str) -> None:
    """Merge deployments of `acme/checkout` with the real loader, as sync `sync_id` does."""
    sync_github(warehouse, "deployments", {"repo": "acme/checkout"}, sync_id, *payloads)


def test_the_loader_re_delivering_records_unchanged_leaves_the_union_as_a_full_rebuild_would(
    warehouse: Path, tmp_path: Path
) -> None:
    """A record delivered again exactly as stored keeps its `_loaded_at`, so no run types it again; its conflict
    with another version in the same batch must still quarantine it whole, as reading everything again does."""
    sync(warehouse, "s1", deployment(1, "2026-06-01T10:00:00Z"), deployment(2, "2026-06-01T11:00:00Z"))
    run_union(warehouse, tmp_path)
    assert set(unioned(warehouse)) == {"1", "2"}

    # the lookback re-reads both unchanged: nothing is new to dbt
    before = query(warehouse, "select _pk, _loaded_at from raw_github.deployments order by 1")
    sync(warehouse, "s2", deployment(1, "2026-06-01T10:00:00Z"), deployment(2, "2026-06-01T11:00:00Z"))
    assert query(warehouse, "select _pk, _loaded_at from raw_github.deployments order by 1") == before

    # record 1 again unchanged, then another version of it (same `updated_at`) in the same batch; record 2 updated
    sync(warehouse, "s3", deployment(1, "2026-06-01T10:00:00Z"), deployment(1, "2026-06-01T10:00:00Z", "blue"),
         deployment(2, "2026-06-01T11:00:00Z", "staging"))  # fmt: skip
    run_union(warehouse, tmp_path)
    assert unioned(warehouse) == {"2": ("checkout", "staging")}
    incremental = sorted(query(warehouse, "select * from intermediate.int_deployments_unioned"))
    run_union(warehouse, tmp_path, "--full-refresh")
    assert sorted(query(warehouse, "select * from intermediate.int_deployments_unioned")) == incremental


def test_a_union_built_before_the_models_above_it_unions_again_once_they_are(warehouse: Path, tmp_path: Path) -> None:
    """The union's digest is what the warehouse holds above it, not what the project's files say: built alone after a
    change of a staging model, it reads the old view; built with it, it unions everything again."""
    load(warehouse, [("1", deployment(1, "2026-06-01T10:00:00Z"), "2026-06-02 00:00:00+00")])
    run_union(warehouse, tmp_path)
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "staging" / "github" / "stg_github__deployments.sql"
    model.write_text(
        model.read_text().replace("    renamed.environment,", "    upper(renamed.environment) as environment,")
    )

    for selected in ("int_deployments_unioned", "+int_deployments_unioned"):
        result = dbt(["run", "--select", selected], warehouse, tmp_path / "target-new", project)
        assert result.returncode == 0, result.stdout[-3000:]
    assert unioned(warehouse) == {"1": ("checkout", "PRODUCTION")}


def assert_fingerprints_kept(warehouse: Path, *tables: str) -> None:
    """What each table keeps of its services' fingerprints is what hashing its rows now gives."""
    for table in tables:
        kept = query(warehouse, f"select service, fingerprint from intermediate.{table}__service_fingerprints")
        hashed = query(
            warehouse,
            f"select service, sum(hash(t)::hugeint) from intermediate.{table} as t"
            " where service is not null group by service",
        )
        assert sorted(kept) == sorted(hashed), table


MAINLINE = ["+int_mainline_commits"]


def commit(sha: str, parent: str | None, committed_at: str, message: str | None = None) -> str:
    return json.dumps(
        {"sha": sha, "parents": [{"sha": parent}] if parent else [],
         "commit": {"author": {"name": "ana", "email": "ana@acme.test", "date": committed_at},
                    "committer": {"date": committed_at}, "message": message or f"change {sha}"}}
    )  # fmt: skip


def sync_commits(warehouse: Path, sync_id: str, repo: str, *payloads: str) -> None:
    """Merge a repository's mainline commits with the real loader, as sync `sync_id` does."""
    sync_github(warehouse, "commits", {"repo": repo, "branch": "main"}, sync_id, *payloads)


def run_mainline(warehouse: Path, tmp_path: Path, *extra: str, project: Path = DBT_PROJECT_DIR) -> None:
    target = tmp_path / ("target" if project == DBT_PROJECT_DIR else "target-edited")
    result = dbt(["run", "--select", *MAINLINE, *extra], warehouse, target, project)
    assert result.returncode == 0, result.stdout[-3000:]


def mainline(warehouse: Path) -> dict[str, list[tuple[str, int, str]]]:
    """Each service's chain: (sha, position, message), oldest first."""
    chains: dict[str, list[tuple[str, int, str]]] = {}
    for service, sha, position, message in query(
        warehouse,
        "select service, sha, mainline_position, message from intermediate.int_mainline_commits order by 1, 3",
    ):
        chains.setdefault(service, []).append((sha, position, message))
    return chains


def full_rebuild(warehouse: Path, tmp_path: Path) -> list[tuple]:
    """int_mainline_commits as walking every service gives it, built on a copy of `warehouse`."""
    copy_of = tmp_path / "copy" / warehouse.name
    copy_of.parent.mkdir(exist_ok=True)
    shutil.copy(warehouse, copy_of)
    result = dbt(["run", "--select", "int_mainline_commits", "--full-refresh"], copy_of, tmp_path / "target-copy")
    assert result.returncode == 0, result.stdout[-3000:]
    return sorted(query(copy_of, "select * from intermediate.int_mainline_commits"))


def test_the_mainline_walks_again_only_the_services_whose_commits_changed(warehouse: Path, tmp_path: Path) -> None:
    """int_mainline_commits walks a service again when its commits change (new, edited, quarantined, mapped
    elsewhere), every service when its code or its fingerprints change, and stays as walking everything gives it."""
    sync_commits(warehouse, "s1", "acme/checkout", commit("c1", None, "2026-06-01T10:00:00Z"),
                 commit("c2", "c1", "2026-06-02T10:00:00Z"))  # fmt: skip
    sync_commits(warehouse, "s1", "acme/search", commit("s1", None, "2026-06-01T11:00:00Z"))
    run_mainline(warehouse, tmp_path)
    assert_fingerprints_kept(warehouse, "int_mainline_commits_unioned")
    assert mainline(warehouse) == {
        "checkout": [("c1", 1, "change c1"), ("c2", 2, "change c2")],
        "search": [("s1", 1, "change s1")],
    }

    def tamper(*services: str) -> None:
        # what a walk of the service's commits would never write: shows whether a run walked it again
        with duckdb.connect(str(warehouse)) as con:
            for service in services:
                con.execute(
                    "update intermediate.int_mainline_commits set message = 'tampered' where service = ?", [service]
                )

    # a new commit on checkout's mainline: checkout is walked again, search (unchanged) is not
    tamper("checkout", "search")
    sync_commits(warehouse, "s2", "acme/checkout", commit("c3", "c2", "2026-06-03T10:00:00Z"))
    run_mainline(warehouse, tmp_path)
    assert_fingerprints_kept(warehouse, "int_mainline_commits_unioned")
    assert mainline(warehouse) == {
        "checkout": [("c1", 1, "change c1"), ("c2", 2, "change c2"), ("c3", 3, "change c3")],
        "search": [("s1", 1, "tampered")],
    }

    # a commit delivered again with another message (same key): checkout is walked again
    tamper("checkout")
    sync_commits(warehouse, "s3", "acme/checkout", commit("c2", "c1", "2026-06-02T10:00:00Z", "reworded"))
    run_mainline(warehouse, tmp_path)
    assert_fingerprints_kept(warehouse, "int_mainline_commits_unioned")
    assert mainline(warehouse) == {
        "checkout": [("c1", 1, "change c1"), ("c2", 2, "reworded"), ("c3", 3, "change c3")],
        "search": [("s1", 1, "tampered")],
    }

    # checkout's head arrives in two conflicting versions: it is quarantined whole, so the chain ends at c2
    sync_commits(warehouse, "s4", "acme/checkout", commit("c3", "c2", "2026-06-03T10:00:00Z"),
                 commit("c3", "c1", "2026-06-03T10:00:00Z"))  # fmt: skip
    run_mainline(warehouse, tmp_path)
    assert_fingerprints_kept(warehouse, "int_mainline_commits_unioned")
    assert mainline(warehouse) == {
        "checkout": [("c1", 1, "change c1"), ("c2", 2, "reworded")],
        "search": [("s1", 1, "tampered")],
    }

    # the catalog maps checkout's repository to search: checkout has no commits left, search has them
    map_checkout_repository_to_search(warehouse)
    run_mainline(warehouse, tmp_path)
    assert_fingerprints_kept(warehouse, "int_mainline_commits_unioned")
    assert mainline(warehouse) == {"search": [("c1", 1, "change c1"), ("c2", 2, "reworded")]}
    # search was walked again after the remap, and checkout's rows are gone: nothing tampered with is left
    assert_fingerprints_kept(warehouse, "int_mainline_commits")
    # which is what walking every service gives, from the same commits
    assert sorted(query(warehouse, "select * from intermediate.int_mainline_commits")) == full_rebuild(
        warehouse, tmp_path
    )

    # without the last build's fingerprints, every service is walked again
    tamper("search")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table intermediate.int_mainline_commits__service_inputs")
    run_mainline(warehouse, tmp_path)
    assert_fingerprints_kept(warehouse, "int_mainline_commits_unioned")
    assert mainline(warehouse) == {"search": [("c1", 1, "change c1"), ("c2", 2, "reworded")]}

    # a change of the model's code walks every service again, unchanged ones too
    tamper("search")
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "intermediate" / "delivery" / "int_mainline_commits.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    run_mainline(warehouse, tmp_path, project=project)
    assert mainline(warehouse) == {"search": [("c1", 1, "change c1"), ("c2", 2, "reworded")]}


CHANGES = ["+int_change_shipments"]
CHANGE_INPUTS = ("int_mainline_commits_unioned", "int_changes_unioned", "int_change_commits_unioned",
                 "int_mainline_commits", "int_changes", "int_change_shipments")  # fmt: skip
# every table above but the last, which no model rebuilding by service reads
KEEPING = CHANGE_INPUTS[:-1]


def pull_request(number: int, merge_sha: str, merged_at: str | None, title: str | None = None) -> str:
    return json.dumps(
        {"id": number, "number": number, "state": "closed", "title": title or f"pull {number}",
         "user": {"login": "ana"}, "base": {"ref": "main", "repo": {"full_name": "acme/checkout"}},
         "head": {"ref": f"feature-{number}", "sha": f"head{number}"}, "merge_commit_sha": merge_sha,
         "created_at": "2026-06-01T08:00:00Z", "closed_at": merged_at, "merged_at": merged_at,
         "updated_at": merged_at or "2026-06-01T09:00:00Z"}
    )  # fmt: skip


def run_changes(warehouse: Path, tmp_path: Path, as_of: str = "2026-06-30", *extra: str) -> None:
    result = dbt(["run", "--select", *CHANGES, *extra], warehouse, tmp_path / "target", as_of=as_of)
    assert result.returncode == 0, result.stdout[-3000:]


def changes(warehouse: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Each service's changes: (change type, mainline sha, title), in mainline order."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for service, change_type, sha, title in query(
        warehouse,
        "select service, change_type, mainline_sha, title from intermediate.int_changes order by 1, mainline_position",
    ):
        found.setdefault(service, []).append((change_type, sha, title))
    return found


def test_changes_are_rebuilt_only_for_the_services_whose_inputs_or_as_of_window_changed(
    warehouse: Path, tmp_path: Path
) -> None:
    """int_changes rebuilds a service when its requests, their commits or its mainline change, or when the as-of time
    moves past one of its merges or pushes; int_change_shipments when its changes do; the others keep their rows; and
    the result is what a full rebuild gives. Every table on the way keeps its services' fingerprints as hashing its
    rows gives them."""
    sync_commits(warehouse, "s1", "acme/checkout", commit("c1", None, "2026-06-01T10:00:00Z"),
                 commit("c2", "c1", "2026-06-02T10:00:00Z", "pull 1 (#1)"))  # fmt: skip
    sync_commits(warehouse, "s1", "acme/search", commit("s1", None, "2026-06-01T11:00:00Z"),
                 commit("s2", "s1", "2026-07-02T11:00:00Z"))  # fmt: skip
    sync_github(warehouse, "pull_requests", {"repo": "acme/checkout"}, "s1",
                pull_request(1, "c2", "2026-06-02T10:00:00Z"))  # fmt: skip
    sync_github(warehouse, "pull_commits", {"repo": "acme/checkout", "pull_number": "1"}, "s1",
                commit("b1", "c1", "2026-06-01T12:00:00Z", "work"))  # fmt: skip
    run_changes(warehouse, tmp_path)
    # s2 is pushed after the as-of time: not a change yet
    assert changes(warehouse) == {
        "checkout": [("direct_push", "c1", "change c1"), ("squash", "c2", "pull 1")],
        "search": [("direct_push", "s1", "change s1")],
    }
    assert_fingerprints_kept(warehouse, *KEEPING)

    def tamper(*services: str, table: str = "int_changes") -> None:
        # what a build from the service's inputs would never write: shows whether a run rebuilt it
        with duckdb.connect(str(warehouse)) as con:
            for service in services:
                con.execute(f"update intermediate.{table} set title = 'tampered' where service = ?", [service])

    # the pull request's title edited: checkout is rebuilt, search (unchanged) is not, in both models
    tamper("checkout", "search")
    tamper("checkout", "search", table="int_change_shipments")
    sync_github(warehouse, "pull_requests", {"repo": "acme/checkout"}, "s2",
                pull_request(1, "c2", "2026-06-02T10:00:00Z", "pull 1, renamed"))  # fmt: skip
    run_changes(warehouse, tmp_path)
    assert changes(warehouse) == {
        "checkout": [("direct_push", "c1", "change c1"), ("squash", "c2", "pull 1, renamed")],
        "search": [("direct_push", "s1", "tampered")],
    }
    assert query(warehouse, "select service, title from intermediate.int_change_shipments order by 1, 2") == [
        ("checkout", "change c1"),
        ("checkout", "pull 1, renamed"),
        ("search", "tampered"),
    ]
    # (not the models': search's rows are tampered with, behind their back)
    assert_fingerprints_kept(warehouse, *KEEPING[:-1])

    # a request's commit delivered again with another author date: checkout is rebuilt
    tamper("checkout")
    sync_github(warehouse, "pull_commits", {"repo": "acme/checkout", "pull_number": "1"}, "s3",
                commit("b1", "c1", "2026-06-01T13:00:00Z", "work"))  # fmt: skip
    run_changes(warehouse, tmp_path)
    assert changes(warehouse)["checkout"] == [("direct_push", "c1", "change c1"), ("squash", "c2", "pull 1, renamed")]
    assert changes(warehouse)["search"] == [("direct_push", "s1", "tampered")]

    # nothing new, but the as-of time moves past search's push s2: search is rebuilt, checkout is not
    tamper("checkout")
    run_changes(warehouse, tmp_path, "2026-07-10")
    assert changes(warehouse) == {
        "checkout": [("direct_push", "c1", "tampered"), ("squash", "c2", "tampered")],
        "search": [("direct_push", "s1", "change s1"), ("direct_push", "s2", "change s2")],
    }
    # and back before it
    run_changes(warehouse, tmp_path)
    assert changes(warehouse)["search"] == [("direct_push", "s1", "change s1")]

    # the catalog maps checkout's repository to search: both are rebuilt, as a full rebuild gives them
    map_checkout_repository_to_search(warehouse)
    run_changes(warehouse, tmp_path)
    assert set(changes(warehouse)) == {"search"}
    assert_fingerprints_kept(warehouse, *KEEPING)
    incremental = {m: sorted(query(warehouse, f"select * from intermediate.{m}")) for m in CHANGE_INPUTS}
    run_changes(warehouse, tmp_path, "2026-06-30", "--full-refresh")
    assert {m: sorted(query(warehouse, f"select * from intermediate.{m}")) for m in CHANGE_INPUTS} == incremental
    assert_fingerprints_kept(warehouse, *KEEPING)
    assert not query(
        warehouse, "select 1 from duckdb_tables() where table_name = 'int_change_shipments__service_fingerprints'"
    )

    # int_changes' last column renamed: int_change_shipments' code is the same and its input rows hash alike (a row's
    # hash has no column names), but its input's columns differ, so every service is rebuilt with the new column
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "intermediate" / "delivery" / "int_changes.sql"
    unions = "select * from request_changes\nunion all\nselect * from direct_pushes"
    assert unions in model.read_text()
    model.write_text(model.read_text().replace(unions, f"select * rename (n_commits as commit_count) from ({unions})"))
    result = dbt(["run", "--select", *CHANGES], warehouse, tmp_path / "target-edited", project)
    assert result.returncode == 0, result.stdout[-3000:]
    counts = "select change_id, commit_count from intermediate.{} order by 1"
    assert query(warehouse, counts.format("int_change_shipments")) == query(warehouse, counts.format("int_changes"))
    assert all(count for _, count in query(warehouse, counts.format("int_change_shipments")))
