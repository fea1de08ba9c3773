"""The documented schema of the published marts, generated from the dbt model files so that it cannot drift.

The marts' `.yml` files are the dbt docs: every model's description and every column's description and type (the
marts enforce contracts, so the types are exact). This module reads them, renders the schema section of docs/bi.md,
and gives the same descriptions to the snapshot as table and column comments.

    python -m orchestration.serving.schema_doc           # rewrite the generated section of docs/bi.md
    python -m orchestration.serving.schema_doc --check   # exit 1 when docs/bi.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestration.serving.publish import PUBLISHED_SCHEMAS, TableDoc

ROOT = Path(__file__).resolve().parents[2]
MARTS_DIR = ROOT / "dbt_project" / "models" / "marts"
BI_DOC = ROOT / "docs" / "bi.md"
BEGIN = "<!-- BEGIN GENERATED SCHEMA: python -m orchestration.serving.schema_doc -->"
END = "<!-- END GENERATED SCHEMA -->"
# dbt_project.yml gives every model under models/marts this schema (`+schema: marts`).
MARTS_SCHEMA = PUBLISHED_SCHEMAS[0]


@dataclass(frozen=True)
class ColumnDoc:
    """One column as the model's contract declares it."""

    name: str
    data_type: str
    description: str


@dataclass(frozen=True)
class MartDoc:
    """One mart as dbt documents it."""

    name: str
    description: str
    grain: tuple[str, ...]
    columns: tuple[ColumnDoc, ...]
    source_file: str

    @property
    def schema(self) -> str:
        """The schema dbt builds it in (every mart's)."""
        return MARTS_SCHEMA


def _test_name(test: Any) -> str:
    return test if isinstance(test, str) else next(iter(test), "")


def _grain(model: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns that identify a row: a model-level `unique_combination`, else a `primary_key`/`unique` column."""
    for test in model.get("data_tests") or model.get("tests") or []:
        if _test_name(test) == "unique_combination" and isinstance(test, dict):
            body = test["unique_combination"] or {}
            columns = (body.get("arguments") or body).get("columns") or []
            return tuple(columns)
    for column in model.get("columns") or []:
        tests = column.get("data_tests") or column.get("tests") or []
        if any(_test_name(t) in ("primary_key", "unique") for t in tests):
            return (column["name"],)
    return ()


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def load_mart_docs(marts_dir: Path = MARTS_DIR) -> list[MartDoc]:
    """Every model documented in the marts' `.yml` files, sorted by name."""
    docs: list[MartDoc] = []
    for file in sorted(marts_dir.glob("*.yml")):
        content = yaml.safe_load(file.read_text()) or {}
        for model in content.get("models") or []:
            columns = tuple(
                ColumnDoc(c["name"], str(c.get("data_type", "")).upper(), _clean(c.get("description")))
                for c in model.get("columns") or []
            )
            docs.append(MartDoc(model["name"], _clean(model.get("description")), _grain(model), columns, file.name))
    return sorted(docs, key=lambda d: d.name)


def table_docs(docs: Iterable[MartDoc]) -> dict[tuple[str, str], TableDoc]:
    """The descriptions keyed by (schema, table), as `publish_snapshot` writes them into the snapshot."""
    return {(d.schema, d.name): TableDoc(d.description, {c.name: c.description for c in d.columns}) for d in docs}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_schema(docs: Sequence[MartDoc]) -> str:
    """The markdown of the schema section: an index of marts, then each mart with its grain and columns."""
    lines = [
        "| table | grain | description |",
        "| --- | --- | --- |",
    ]
    for doc in docs:
        grain = ", ".join(f"`{c}`" for c in doc.grain) or "-"
        first_sentence = doc.description.split(". ")[0].rstrip(".") + "."
        lines.append(f"| [`{doc.schema}.{doc.name}`](#{doc.schema}{doc.name}) | {grain} | {_cell(first_sentence)} |")
    for doc in docs:
        lines += [
            "",
            f"### `{doc.schema}.{doc.name}`",
            "",
            _cell(doc.description),
            "",
            f"Grain: one row per {', '.join(f'`{c}`' for c in doc.grain) or 'row (no declared key)'}. "
            f"Parquet: `parquet/{doc.schema}/{doc.name}.parquet`. Defined in `dbt_project/models/marts/"
            f"{doc.source_file}`.",
            "",
            "| column | type | description |",
            "| --- | --- | --- |",
        ]
        lines += [f"| `{c.name}` | {c.data_type or '-'} | {_cell(c.description)} |" for c in doc.columns]
    return "\n".join(lines)


def splice(document: str, generated: str) -> str:
    """`document` with the text between the BEGIN and END markers replaced by `generated`."""
    try:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"{BI_DOC.name} has lost its markers {BEGIN!r} ... {END!r}") from None
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with --check, verify) the generated schema section of docs/bi.md; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/bi.md is out of date, change nothing")
    args = parser.parse_args(argv)
    current = BI_DOC.read_text()
    expected = splice(current, render_schema(load_mart_docs()))
    if args.check:
        if current != expected:
            print(f"{BI_DOC} is out of date: run python -m orchestration.serving.schema_doc", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        BI_DOC.write_text(expected)
        print(f"rewrote the schema section of {BI_DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
