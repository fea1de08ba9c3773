"""How close two sample organisations' histories are: records kept, changed, dropped and added, per collection.

The scale benchmark's incremental run reads an organisation generated with one more day. Whether that is "the
first history plus one day" depends on the generator, which other people change; this module measures it
instead of assuming it, from the sample_org API alone (its public `Organisation` fields), record by record.

    .venv/bin/python -m benchmarks.history_diff --services 30 --days 365 --end 2026-01-01

compares `days` days ending `end` with `days + 1` days ending a day later, same seed and options.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Fields that identify a record within its collection, in the order they are tried.
_ID_FIELDS = ("id", "sha", "key", "iid", "number", "url", "full_name", "name")


@dataclass(frozen=True)
class CollectionDiff:
    """Records of one collection (e.g. `github.deployments`) in the first and the second history."""

    first: int
    second: int
    identical: int  # same identifier, same content
    changed: int  # same identifier, other content
    dropped: int  # in the first only
    added: int  # in the second only


def _record_id(record: dict, index: int) -> str:
    for name in _ID_FIELDS:
        value = record.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return f"{name}={value}"
    return f"#{index}"  # no identifier: its position, so a shift shows as changes rather than vanishing


def _records(value: Any, path: str, where: str) -> Iterator[tuple[str, str, dict]]:
    """(collection, record key, record) for every dict in a list anywhere below `value`.

    `path` names the collection without per-repository keys (`github.statuses`); `where` keeps them, so the
    same identifier in two repositories stays two records.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _records(getattr(value, f.name), f"{path}.{f.name}", where)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) or dataclasses.is_dataclass(item):
                # Mappings keyed by repository, deployment id, PR number...: one collection across their keys.
                yield from _records(item, path, f"{where}/{key}")
    elif isinstance(value, list):
        seen = Counter[str]()
        for i, item in enumerate(value):
            if isinstance(item, dict):
                key = _record_id(item, i)
                seen[key] += 1
                # Records sharing an identifier (a workflow run's attempts) stay apart, in their list's order.
                yield path, f"{where}/{key}" + (f"#{seen[key]}" if seen[key] > 1 else ""), item
            elif isinstance(item, list) and item and isinstance(item[0], dict):
                # A list of record lists (workflow runs, each its attempts) is keyed by each list's first record,
                # not by its position, which moves whenever a newer one is listed first.
                yield from _records(item, path, f"{where}/{_record_id(item[0], i)}")
            elif isinstance(item, list | dict) or dataclasses.is_dataclass(item):
                yield from _records(item, path, f"{where}[{i}]")


def fingerprint(org: Any) -> dict[str, dict[str, bytes]]:
    """Per collection, a digest of every record's content by its key. Services' catalog entries are included."""
    out: dict[str, dict[str, bytes]] = {}
    for f in dataclasses.fields(org):
        if f.name in ("seed", "start", "end"):
            continue
        for collection, key, record in _records(getattr(org, f.name), f.name, ""):
            text = json.dumps(record, sort_keys=True, default=str, separators=(",", ":")).encode()
            out.setdefault(collection, {})[key] = hashlib.blake2b(text, digest_size=12).digest()
    return out


def compare(first: dict[str, dict[str, bytes]], second: dict[str, dict[str, bytes]]) -> dict[str, CollectionDiff]:
    """Compare two fingerprints collection by collection."""
    result = {}
    for name in sorted(set(first) | set(second)):
        a, b = first.get(name, {}), second.get(name, {})
        common = a.keys() & b.keys()
        same = sum(1 for k in common if a[k] == b[k])
        result[name] = CollectionDiff(
            first=len(a),
            second=len(b),
            identical=same,
            changed=len(common) - same,
            dropped=len(a) - len(common),
            added=len(b) - len(common),
        )
    return result


def diff_histories(services: int, days: int, seed: int, end: dt.date, options: dict[str, Any]) -> dict[str, Any]:
    """Generate `days` days ending `end`, then `days + 1` ending a day later; compare them record by record.

    One organisation at a time is held in memory (the second is generated after the first was reduced to
    digests), so the peak is one organisation plus two sets of 12-byte digests.
    """
    from sample_org import generate

    fingerprints = []
    for d, e in ((days, end), (days + 1, end + dt.timedelta(days=1))):
        org = generate(n_services=services, days=d, seed=seed, end=e, **options)
        fingerprints.append(fingerprint(org))
        del org
        gc.collect()
    per_collection = compare(*fingerprints)
    totals = Counter[str]()
    for diff in per_collection.values():
        totals.update(dataclasses.asdict(diff))
    return {
        "totals": dict(totals),
        "collections": {k: dataclasses.asdict(v) for k, v in per_collection.items()},
    }


def summary_line(diff: dict[str, Any]) -> str:
    """One sentence on how close the second history is to the first."""
    t = diff["totals"]
    first = max(1, t["first"])
    moved = sorted(
        ((c["changed"] + c["dropped"]) / max(1, c["first"]), name) for name, c in diff["collections"].items()
    )
    worst = [f"{name} {100 * share:.0f}%" for share, name in reversed(moved[-4:]) if share > 0]
    where = f"; most changed or dropped: {', '.join(worst)}" if worst else ""
    return (
        f"history with one more day: {t['identical']} of {t['first']} records of the first history identical "
        f"({100 * t['identical'] / first:.2f}%), {t['changed']} changed, {t['dropped']} dropped, {t['added']} added"
        f"{where}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.datetime.now(dt.UTC).date())
    parser.add_argument("--json", action="store_true", help="print the whole comparison as JSON")
    args = parser.parse_args()
    options = {"source_mix": True, "opsgenie_services": args.services // 6}
    diff = diff_histories(args.services, args.days, args.seed, args.end, options)
    print(json.dumps(diff, indent=2) if args.json else summary_line(diff))


if __name__ == "__main__":
    main()
