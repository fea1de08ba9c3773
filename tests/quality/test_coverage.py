"""Every asset is guarded, and each property of each column is asserted in one place only.

A property is (table, column, kind) with kind one of not_null, unique, accepted_values, relationship, range,
coverage, row_count. Raw checks assert raw tables (from each stream's declaration), dbt tests staging and marts
(from the manifest), GX suites mart ranges, coverage and row-count drift (from `orchestration.quality.suites`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from connectors.registry import CONNECTORS
from orchestration.quality.checks import quarantine_outcome
from orchestration.quality.suites import SUITES

DBT_KINDS = {
    "not_null": ("not_null",),
    "unique": ("unique",),
    "primary_key": ("not_null", "unique"),
    "unique_combination": ("unique",),
    "accepted_values": ("accepted_values",),
    "relationships": ("relationship",),
}


def dbt_properties(manifest: Path) -> list[tuple[str, str, str, str]]:
    """(table, column, kind, where) of every generic dbt test in the manifest."""
    data = json.loads(manifest.read_text())
    nodes = {**data["nodes"], **data["sources"]}
    props = []
    for node in data["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        name = node["test_metadata"]["name"]
        parent = nodes[node["attached_node"]] if node.get("attached_node") else None
        if parent is None:
            continue
        table = f"{parent['schema']}.{parent.get('alias') or parent['name']}"
        kwargs = node["test_metadata"].get("kwargs", {})
        column = node.get("column_name") or ",".join(
            kwargs.get("columns") or kwargs.get("arguments", {}).get("columns") or []
        )
        for kind in DBT_KINDS.get(name, (name,)):
            props.append((table, column, kind, f"dbt:{node['name']}"))
    return props


def raw_properties() -> list[tuple[str, str, str, str]]:
    """What the raw checks assert, derived the same way the checks are (from each stream's declaration)."""
    props = []
    for source, cls in CONNECTORS.items():
        for stream in cls.streams:
            table = f"raw_{source}.{stream.name}"
            props += [
                (table, "_pk", "not_null", "raw"),
                (table, "_pk", "unique", "raw"),
                (table, "", "row_count", "raw"),
            ]
            props += [(table, f, "not_null", "raw") for f in stream.required_fields if f not in stream.primary_key]
    return props


def gx_properties() -> list[tuple[str, str, str, str]]:
    """What the GX suites assert."""
    props = []
    for suite in SUITES:
        props += [(suite.table, r.column, "range", "gx") for r in suite.ranges]
        props += [(suite.table, c, "coverage", "gx") for c in suite.coverage]
        if suite.row_count is not None or suite.drift:
            props.append((suite.table, "", "row_count", "gx"))
    return props


def test_no_property_is_asserted_twice(dbt_manifest: Path) -> None:
    everything = dbt_properties(dbt_manifest) + raw_properties() + gx_properties()
    counts = Counter((t, c, k) for t, c, k, _ in everything)
    twice = {p: [w for t, c, k, w in everything if (t, c, k) == p] for p, n in counts.items() if n > 1}
    assert not twice, twice


def test_gx_asserts_only_marts_and_only_what_dbt_does_not(dbt_manifest: Path) -> None:
    dbt_kinds = {k for _, _, k, _ in dbt_properties(dbt_manifest)}
    assert all(t.startswith("marts.") for t, _, _, _ in gx_properties())
    assert not {k for _, _, k, _ in gx_properties()} & (dbt_kinds - {"row_count", "range", "coverage"})


def test_gx_suites_read_columns_their_marts_have(dbt_manifest: Path) -> None:
    """The suites read only the columns they validate (or derive from): each is a column of the mart's contract,
    and a derived column never is."""
    nodes = json.loads(dbt_manifest.read_text())["nodes"].values()
    contracts = {f"{n['schema']}.{n['name']}": set(n["columns"]) for n in nodes if n["resource_type"] == "model"}
    for suite in SUITES:
        assert suite.columns and set(suite.columns) <= contracts[suite.table], suite.table
        assert not set(suite.derived) & contracts[suite.table], suite.table
        validated = {r.column for r in suite.ranges} | set(suite.coverage)
        assert validated <= set(suite.columns) | set(suite.derived), suite.table


def test_every_asset_has_a_check(dbt_manifest: Path) -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checked = {k.asset_key for k in graph.asset_check_keys}
    unchecked = sorted(k.to_user_string() for k in graph.materializable_asset_keys if k not in checked)
    assert not unchecked, unchecked


def test_loading_the_definitions_does_not_import_great_expectations(dbt_manifest: Path) -> None:
    import subprocess
    import sys

    code = "import sys; import orchestration.definitions; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_quarantine_is_a_warning_until_a_share_passes_the_limit() -> None:
    rows = {"raw_pagerduty.incidents": 100}
    assert quarantine_outcome({}, rows, 0.05)[0] is True
    passed, severity, shares = quarantine_outcome({("raw_pagerduty.incidents", "x"): 3}, rows, 0.05)
    assert (passed, severity.value, shares) == (False, "WARN", {"raw_pagerduty.incidents": 0.03})
    passed, severity, _ = quarantine_outcome({("raw_pagerduty.incidents", "x"): 6}, rows, 0.05)
    assert (passed, severity.value) == (False, "ERROR")
