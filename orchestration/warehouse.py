"""Writes to the DuckDB warehouse: raw tables merged on their key (`_pk`), stream cursors, the connection settings.

A sync merges pages in transactions (`orchestration/raw/sync.py`), so one killed at any moment leaves whole
transactions; re-running it merges the same records again (newest version wins) and the raw tables end identical
to a clean run. Two versions of one record that conflict within a sync are both kept (`merge_rows`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from connectors.base import Bookmark, Record
from orchestration.raw.rows import Row, to_row

STATE_TABLE = "raw_state.cursors"

log = logging.getLogger(__name__)


MEMORY_LIMIT_ENV = "OPMETRICS_MEMORY_LIMIT"  # DuckDB's share of the opmetrics process, e.g. "256MB"
# The opmetrics process appends and scans keys: dbt's process does the analytical work, with a limit of its own. At
# 512MB DuckDB's cache of what a first sync wrote grew the process with the history (GitHub's sync alone at 300
# services: 538 MiB at 512MB, 455 MiB at 256MB, in the same time).
DEFAULT_MEMORY_LIMIT = "256MB"

# DuckDB checkpoints (writes what was committed into the file's blocks) whenever its write-ahead log passes this size.
# At the default, 16MB, a first sync checkpointed every few commits: committing 5,000 rows of half a kilobyte to a
# 300,000-row table took 49 ms at 16MB and 7 ms at 1GB (a throwaway script). At 1GB a sync checkpoints a few times and
# when it ends (`sync_source`), in the same memory: blocks past the memory limit are still evicted to the file.
# GitHub's first sync alone at 300 services: 91-94 s at 16MB, 72-76 s at 1GB; at 1,000: 301 s -> 224 s.
CHECKPOINT_THRESHOLD = "1GB"


def memory_limit() -> str:
    """DuckDB's memory limit in this process (`OPMETRICS_MEMORY_LIMIT`, default 256MB), checked before use."""
    value = os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.IGNORECASE):
        raise ValueError(f"{MEMORY_LIMIT_ENV}={value!r} is not a size such as 512MB or 2GB")
    return value


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating its folder), and always close it: DuckDB allows one writer per file."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Without a limit DuckDB keeps up to 80% of the machine's memory of what a sync wrote cached, so the process
    # grew with the history (2.4 GiB at 1,000 services); past the limit it evicts (to the file) instead. Given when
    # connecting, so it also bounds the replay of a killed sync's log on opening (706 MB of log: 858 MiB set after,
    # 336 MiB given here); every connection in the process comes through here, with the same options.
    config = {"memory_limit": memory_limit()}
    if not read_only:
        config["checkpoint_threshold"] = CHECKPOINT_THRESHOLD
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    try:
        yield con
    finally:
        con.close()


def raw_table(source: str, stream: str) -> str:
    return f"raw_{source}.{stream}"


RAW_COLUMNS = (
    "_pk varchar not null, _cursor timestamptz, _context json, payload json not null,"
    " _loaded_at timestamptz not null, _sync_id varchar not null"
)


def ensure_raw_table(con: duckdb.DuckDBPyConnection, source: str, stream: str) -> str:
    """Create `raw_<source>.<stream>` with the standard raw columns if it does not exist.

    `_pk` is unique but not declared a primary key: DuckDB keeps a key's index in memory and pays for it on every
    insert, so a sync slowed as its tables grew (2,000 records/s at 1,000 services against 3,900 at 100).
    `merge_rows` keeps the key unique and the `primary_key_unique` check asserts it after every load. A table
    created with the constraint by an older opmetrics is rebuilt without it, once.
    """
    table = raw_table(source, stream)
    con.execute(f"create schema if not exists raw_{source}")
    con.execute(f"create table if not exists {table} ({RAW_COLUMNS})")
    indexed = con.execute(
        "select 1 from duckdb_constraints()"
        " where schema_name = ? and table_name = ? and constraint_type = 'PRIMARY KEY'",
        [f"raw_{source}", stream],
    ).fetchall()
    if indexed:
        con.begin()
        con.execute(f"create table {table}__rebuilt ({RAW_COLUMNS})")
        con.execute(f"insert into {table}__rebuilt select * from {table}")
        con.execute(f"drop table {table}")
        con.execute(f"alter table {table}__rebuilt rename to {stream}")
        con.commit()
    return table


CONFLICT_PREFIX = "conflict:"  # `conflict:<_pk>:<digest>`: a version set aside as conflicting with `_pk`'s


def conflict_key(pk: str, payload_json: str) -> str:
    """The surrogate key of a conflicting version: its record's key and a digest of its content."""
    return f"{CONFLICT_PREFIX}{pk}:{hashlib.sha256(payload_json.encode()).hexdigest()[:12]}"


def merge_records(
    con: duckdb.DuckDBPyConnection, table: str, records: list[Record], sync_id: str, version_field: str | None = None
) -> int:
    """`merge_rows` of records as read by a connector."""
    return merge_rows(con, table, [to_row(record, version_field) for record in records], sync_id, version_field)


class WrittenKeys:
    """The keys a sync has written to a table that was empty when it began, as a sorted array of their 64-bit
    hashes (8 bytes a key).

    Finding which of a page's keys a table already holds scans the table's whole key column (no index is kept, see
    `ensure_raw_table`), so a first sync's merges grew with the table: half of GitHub's writing at 1,000 services
    (33 of 69 s). Into a table that began empty, only this sync has written: a page none of whose hashes is here
    holds no stored key, and its merge skips the scan. A hash found here (a record delivered again, or two keys
    with one hash) only sends the page to the scan, so the merge's result is the same either way. Each merge copies
    the array to insert into it: at 715,000 keys (GitHub's largest table at 1,000 services) in batches of 20,000,
    about 100 MB copied over the whole sync.
    """

    def __init__(self) -> None:
        self._hashes = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._hashes)

    @staticmethod
    def _hash(keys: list[str]) -> np.ndarray:
        # Python's own string hash: fast, and stable within the process, which is as long as this lives.
        return np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))

    def _held(self, hashes: np.ndarray) -> np.ndarray:
        at = np.searchsorted(self._hashes, hashes)
        found = np.zeros(len(hashes), dtype=bool)
        inside = at < len(self._hashes)
        found[inside] = self._hashes[at[inside]] == hashes[inside]
        return found

    def may_hold_any(self, keys: list[str]) -> bool:
        """Whether any of `keys` may have been written (False: certainly none was)."""
        return bool(self._held(self._hash(keys)).any())

    def add(self, keys: list[str]) -> None:
        """Remember `keys` as written."""
        hashes = np.unique(self._hash(keys))
        hashes = hashes[~self._held(hashes)]
        self._hashes = np.insert(self._hashes, np.searchsorted(self._hashes, hashes), hashes)


def merge_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[Row],
    sync_id: str,
    version_field: str | None = None,
    written: WrittenKeys | None = None,
) -> int:
    """Upsert one page of rows on `_pk`, the last delivered version winning; returns the rows written.

    Two versions of one record in the same sync with the same version (the payload's `version_field`, the
    stream's `version_path`) but different content conflict: the source cannot say which is right. The version
    landed first stays under the record's key; the other lands beside it under `conflict:<_pk>:<digest>`, so
    nothing is lost. dbt quarantines both (`conflicting_duplicate`) and staging leaves the record out. A later
    sync's version is an update, never a conflict: that is how a re-run or a resumed sync re-reads records
    without tripping the rule.

    A record a later sync delivers again exactly as stored (payload, context and cursor) keeps its row and its
    `_loaded_at`; only its `_sync_id` becomes this sync's, so the rule above still sees it. Each daily sync re-reads
    its lookback window, and dbt's incremental models re-type and re-union whatever `_loaded_at` says is new: at
    1,000 services that was every repository's last days, each day. A record with a conflicting version beside it
    is written again as before, since a later sync's delivery is what settles the conflict.

    `written`, for a table that was empty when the sync began, spares a page of keys it has not written the
    search for them in the table (`WrittenKeys`); the result is the same with or without it.
    """
    if not rows:
        return 0
    kept: dict[str, Row] = {}
    conflicts: list[Row] = []
    for row in rows:
        previous = kept.get(row.pk)
        if previous is None or row.payload == previous.payload or row.version != previous.version:
            kept[row.pk] = row
        else:
            conflicts.append(row)
    now = datetime.now(UTC)
    # A version already written by this sync with the same version and other content is not replaced: those keys
    # of the page conflict.
    blocked = _upsert(con, table, list(kept.values()), now, sync_id, version_field, written)
    conflicts += [kept[pk] for pk in kept if pk in blocked]
    if conflicts:
        # The same conflicting version twice is one row: its key is its content's digest.
        by_key: dict[str, Row] = {}
        for row in conflicts:
            key = conflict_key(row.pk, row.payload)
            by_key.setdefault(key, row._replace(pk=key))
        renamed = list(by_key.values())
        _upsert(con, table, renamed, now, sync_id, version_field, written)
        # The version a conflict is set beside may be one this sync found unchanged, with an earlier `_loaded_at`:
        # dbt pairs the two by `_sync_id`, so it must type it again with its conflict, as if this sync had written it.
        con.execute(
            f"update {table} set _loaded_at = $loaded_at where _pk in (select unnest($keys::varchar[]))",
            {"loaded_at": now, "keys": sorted({row.pk for row in conflicts})},
        )
        log.warning("%s: %d record(s) delivered twice in one sync with conflicting content", table, len(renamed))
        return len(kept) + len(renamed)
    return len(kept)


def _upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[Row],
    loaded_at: datetime,
    sync_id: str,
    version_field: str | None,
    written: WrittenKeys | None = None,
) -> set[str]:
    """Replace the rows of `rows`' keys, except a version this sync already wrote with the same version and other
    content: returns those keys, left as they were. Deletes and appends on an unindexed table: a first sync finds
    none of its keys and only appends. Finding them scans the key column, which grows with the table, but no index
    is kept up to date on every insert nor held in memory; `written` skips the scan for keys it never saw."""
    keys = [row.pk for row in rows]
    frame = pd.DataFrame(
        {
            "_pk": keys,
            "_cursor": pd.to_datetime([row.cursor for row in rows], utc=True),
            "_context": [row.context for row in rows],
            "payload": [row.payload for row in rows],
        }
    )
    con.register("_page", frame)
    try:
        # One scan of the key column finds which keys exist, whether this sync wrote them and whether the page
        # delivers them exactly as stored (a stored key's other columns are read for the keys found only).
        existing = (
            con.execute(
                f"""select _pk, _sync_id = $sync_id,
                        t.payload::varchar = p.payload
                        and t._context::varchar is not distinct from p._context
                        and t._cursor is not distinct from p._cursor
                    from {table} t join _page p using (_pk)""",
                {"sync_id": sync_id},
            ).fetchall()
            if written is None or written.may_hold_any(keys)
            else []
        )
        unchanged = _keep_unchanged(con, table, [pk for pk, same, equal in existing if equal and not same], sync_id)
        blocked = _same_sync_conflicts(con, table, [pk for pk, same, _ in existing if same], version_field)
        if blocked or unchanged:
            con.unregister("_page")
            frame = frame[~frame["_pk"].isin(blocked | unchanged)]
            con.register("_page", frame)
        if len(existing) > len(blocked) + len(unchanged):
            con.execute(f"delete from {table} where _pk in (select _pk from _page)")
        con.execute(
            f"""insert into {table}
                select _pk, _cursor, _context::json, payload::json, $loaded_at::timestamptz, $sync_id from _page""",
            {"loaded_at": loaded_at, "sync_id": sync_id},
        )
        if written is not None:
            written.add(keys)  # the blocked keys too: they are in the table already
        return blocked
    finally:
        con.unregister("_page")


def _keep_unchanged(con: duckdb.DuckDBPyConnection, table: str, keys: list[str], sync_id: str) -> set[str]:
    """Of `keys` (stored by earlier syncs, delivered again exactly as stored), those without a conflicting version
    beside them: their rows take this sync's `_sync_id` and keep everything else.

    Conflicting versions (`conflict:` keys) and the records they conflict with are left out: dbt pairs the two by
    their `_sync_id`, so both must be typed again whenever either is delivered again."""
    same = {pk for pk in keys if not pk.startswith(CONFLICT_PREFIX)}
    if same:
        conflicted = con.execute(
            f"select distinct regexp_extract(_pk, '^{CONFLICT_PREFIX}(.*):[0-9a-f]{{12}}$', 1) from {table}"
            f" where _pk like '{CONFLICT_PREFIX}%'"
        ).fetchall()
        same -= {pk for (pk,) in conflicted}
    if same:
        con.execute(
            f"update {table} set _sync_id = $sync_id where _pk in (select unnest($keys::varchar[]))",
            {"sync_id": sync_id, "keys": sorted(same)},
        )
    return same


def _same_sync_conflicts(
    con: duckdb.DuckDBPyConnection, table: str, keys: list[str], version_field: str | None
) -> set[str]:
    """Of `keys` (written earlier in this sync), those whose new version in `_page` has the stored version's
    version and other content: a conflict, never an update."""
    if not keys:
        return set()
    same_version = (
        "json_extract_string(t.payload, $version) is not distinct from json_extract_string(p.payload::json, $version)"
        if version_field
        else "true"
    )
    rows = con.execute(
        f"""select t._pk from {table} t join _page p on t._pk = p._pk
            where t._pk in (select unnest($keys::varchar[]))
                and {same_version}
                and t.payload::varchar <> p.payload::json::varchar""",
        {"keys": keys, **({"version": f"$.{version_field}"} if version_field else {})},
    ).fetchall()
    return {pk for (pk,) in rows}


def ensure_state_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create `raw_state.cursors`: one row per (source, stream, partition) holding a time (`cursor`) or an integer
    position (`position`, e.g. a Jenkins build number), whichever its connector checkpoints."""
    con.execute("create schema if not exists raw_state")
    con.execute(
        f"""create table if not exists {STATE_TABLE} (
            source varchar, stream varchar, partition varchar,
            cursor timestamptz, updated_at timestamptz not null, sync_id varchar not null, position bigint,
            primary key (source, stream, partition)
        )"""
    )
    has_position = con.execute(
        "select 1 from information_schema.columns"
        " where table_schema = 'raw_state' and table_name = 'cursors' and column_name = 'position'"
    ).fetchall()
    if not has_position:
        # A warehouse from before positions: add the column, and let a row holding a position leave the time
        # empty. One transaction, so a crash cannot leave the table half changed.
        con.begin()
        con.execute(f"alter table {STATE_TABLE} add column if not exists position bigint")
        con.execute(f"alter table {STATE_TABLE} alter column cursor drop not null")
        con.commit()


def load_cursors(con: duckdb.DuckDBPyConnection, source: str) -> dict[tuple[str, str], Bookmark]:
    """The stored bookmark of each (stream, partition) of a source: its position if it has one, else its time."""
    ensure_state_table(con)
    rows = con.execute(
        f"select stream, partition, cursor, position from {STATE_TABLE} where source = ?", [source]
    ).fetchall()
    return {
        (stream, partition): moment if position is None else position for stream, partition, moment, position in rows
    }


def save_cursors(
    con: duckdb.DuckDBPyConnection, source: str, cursors: Mapping[tuple[str, str], Bookmark], sync_id: str
) -> None:
    """Store bookmarks (a time or a position) of `{(stream, partition): bookmark}` in one statement; each only ever
    moves forward, so a backfill never rewinds the incremental position."""
    if not cursors:
        return
    now = datetime.now(UTC)
    rows = [
        (source, stream, partition, *((None, cursor) if isinstance(cursor, int) else (cursor, None)), now, sync_id)
        for (stream, partition), cursor in cursors.items()
    ]
    # One statement for a whole transaction's cursors: a statement costs milliseconds, and a large sync stores
    # thousands of cursors (three a repository).
    placeholders = ", ".join(["(?, ?, ?, ?::timestamptz, ?::bigint, ?::timestamptz, ?)"] * len(rows))
    con.execute(
        f"""insert into {STATE_TABLE} (source, stream, partition, cursor, position, updated_at, sync_id)
            values {placeholders}
            on conflict (source, stream, partition) do update set
                cursor = greatest(cursor, excluded.cursor),
                position = greatest(position, excluded.position),
                updated_at = excluded.updated_at,
                sync_id = excluded.sync_id""",
        [value for row in rows for value in row],
    )


def reset_cursors(con: duckdb.DuckDBPyConnection, source: str) -> None:
    ensure_state_table(con)
    con.execute(f"delete from {STATE_TABLE} where source = ?", [source])
