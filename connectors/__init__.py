"""Source connectors: plain Python (no Dagster) that turn source APIs into streams of records."""
