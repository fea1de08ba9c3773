"""Data-quality checks beyond the raw layer: Great Expectations suites on the marts, the quarantine, the catalog
and the serving assets."""
