"""Connectors that read several partitions at once (`partitions_ahead`) yield exactly the events of reading them one
after another: what lands, and when each cursor is stored, does not depend on the threads."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml

from connectors.base import Page
from orchestration.config import parse_catalog
from sample_org import SampleServer, generate, sample_tokens, token_environment


@pytest.mark.parametrize(
    ("source", "settings"),
    [("github", {"api": "rest"}), ("github", {}), ("gitlab", {}), ("jenkins", {}), ("opsgenie", {})],
)
def test_partitions_read_ahead_yield_what_one_at_a_time_yields(
    source: str, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"opsgenie_services": 6} if source == "opsgenie" else {"deployment_source": source}
    org = generate(n_services=6, days=40, seed=3, end=date(2026, 6, 30), **options)
    tokens = sample_tokens()
    for variable, value in token_environment(tokens).items():
        monkeypatch.setenv(variable, value)
    events: dict[int, list[tuple[Any, ...]]] = {}
    with SampleServer(org, tokens=tokens) as server:
        data = yaml.safe_load(org.config_yaml(server.url))
        for ahead in (1, 3):
            data["sources"][source].update(settings, partitions_ahead=ahead)
            catalog = parse_catalog(data)
            connector = catalog.connector(source)
            events[ahead] = [
                (e.stream, tuple(r.pk for r in e.records)) if isinstance(e, Page) else (e.stream, e.partition, e.cursor)
                for e in connector.sync(lambda stream, partition: None)
            ]
    partitions = {event[1] for event in events[1] if len(event) == 3}
    assert len(partitions) > 2, f"the sample gives {source} too few partitions to interleave: {partitions}"
    assert events[3] == events[1]
