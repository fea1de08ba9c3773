"""docs/bi.md: its schema section is the dbt docs of the marts, and its queries only read.

That each example query answers from a real run's published snapshot is `tests/test_end_to_end.py`'s business.
"""

from __future__ import annotations

import re

from orchestration.serving.schema_doc import BI_DOC, load_mart_docs, render_schema, splice


def documented_queries() -> list[str]:
    """Every ```sql block of docs/bi.md, in order."""
    return re.findall(r"```sql\n(.*?)```", BI_DOC.read_text(), flags=re.DOTALL)


def test_schema_section_is_generated_from_the_dbt_model_files() -> None:
    current = BI_DOC.read_text()
    assert splice(current, render_schema(load_mart_docs())) == current, (
        "docs/bi.md is out of date with dbt_project/models/marts/*.yml: run python -m orchestration.serving.schema_doc"
    )


def test_every_mart_is_documented_with_its_grain_and_columns() -> None:
    text = BI_DOC.read_text()
    for doc in load_mart_docs():
        assert f"### `marts.{doc.name}`" in text
        assert doc.grain, f"{doc.name} declares no grain (a unique_combination or primary_key test) in its .yml"
        assert all(c.data_type for c in doc.columns), f"{doc.name} has columns without a data_type"


def test_queries_are_read_only_sql() -> None:
    for query in documented_queries():
        assert not re.search(r"\b(insert|update|delete|create|drop|alter|attach|copy)\b", query, re.I), query
