"""Serving: the read-only snapshot that BI tools open, its Parquet export, and the offline HTML report.

Pure functions (paths in, paths out) live in `publish`, `report_html`, `metadata` and `schema_doc`; the Dagster
assets that call them live in `assets`.
"""
