"""Dagster definitions of opmetrics: raw assets, dbt assets, checks, the daily job, and the CLI."""
