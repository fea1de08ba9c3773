"""Text rendering of the marts for the terminal: the playbook's Table 1 with our figures, then the migrations."""

from __future__ import annotations

from pathlib import Path

from orchestration.serving.comparison import MODEL_LABELS, MODELS, PLAYBOOK, cell_summary, load_table_1, measure_label
from orchestration.warehouse import connect


def comparison_table(warehouse: Path) -> str:
    """Table 1 as text: one block per measure, our figure for each operating model beside the playbook's words."""
    with connect(warehouse, read_only=True) as con:
        table = load_table_1(con)
    if not table.measures:
        return "operating_model_comparison is empty"
    lines = [f"Operating-model comparison (the playbook's Table 1), {table.window_start} to {table.window_end}", ""]
    width = max(len(label) for label in MODEL_LABELS.values())
    for measure in table.measures:
        lines.append(measure_label(measure))
        for model in MODELS:
            expected = PLAYBOOK.get((measure, model))
            playbook = f"   [playbook: {expected}]" if expected else ""
            lines.append(f"  {MODEL_LABELS[model]:<{width}}  {cell_summary(table.cell(measure, model))}{playbook}")
    return "\n".join(lines)
