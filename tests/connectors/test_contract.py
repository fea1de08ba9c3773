"""The contract every registered connector must meet, run against its loopback fake.

A new connector gets this suite for free once `tests/connectors/fakes.py` has a fake for it; a connector with another
mode (GitHub's GraphQL) runs it once per mode, through a variant fake.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

import pytest
from pytest_httpserver import HTTPServer

from connectors.base import Checkpoint, Connector, Page, dig
from connectors.http import HttpSettings
from connectors.registry import CONNECTORS
from tests.connectors.fakes import FAKES, TOKEN, FakeApi, Fixture, connector_name, fake_names


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACT_TOKEN", TOKEN)
    monkeypatch.setenv("CONTRACT_USER", "bot@example.com")


def build(name: str, server: HTTPServer, faults: bool = False) -> tuple[Connector, Fixture, FakeApi]:
    if name not in FAKES:
        pytest.fail(f"connector {name!r} is registered but has no fake in tests/connectors/fakes.py")
    api = FakeApi(server, faults=faults)
    fixture = FAKES[name](api)
    cls = CONNECTORS[connector_name(name)]
    settings = cls.settings_model.model_validate(fixture.settings)
    mappings = {svc: cls.mapping_model.model_validate(m) for svc, m in fixture.mappings.items()}
    connector = cls(settings, mappings)
    connector.client.settings = HttpSettings(backoff_factor=0.001, backoff_max=0.01)
    return connector, fixture, api


def run(connector: Connector, cursors: dict[tuple[str, str], datetime] | None = None):
    pages: dict[str, list] = defaultdict(list)
    checkpoints: list[Checkpoint] = []
    events = connector.sync(lambda s, p: (cursors or {}).get((s, p)))
    for n, event in enumerate(events):
        assert n < 10_000, "pagination does not terminate"
        if isinstance(event, Page):
            pages[event.stream].extend(event.records)
        else:
            checkpoints.append(event)
    return pages, checkpoints


@pytest.mark.parametrize("name", fake_names())
class TestContract:
    def test_full_sync_delivers_every_record_once_with_its_key(self, name: str, httpserver: HTTPServer) -> None:
        connector, fixture, _ = build(name, httpserver)
        pages, _ = run(connector)
        assert {s: len(r) for s, r in pages.items() if r} == fixture.expected
        for stream_name, records in pages.items():
            stream = connector.stream(stream_name)
            keys = [r.pk for r in records]
            assert all(keys), f"{stream_name}: record without primary key"
            assert len(keys) == len(set(keys)), f"{stream_name}: duplicated records"
            for record in records:
                missing = [f for f in stream.required_fields if dig(record.payload, f) is None]
                assert not missing, f"{stream_name} record {record.pk} lacks {missing}"

    def test_cursor_only_moves_forward(self, name: str, httpserver: HTTPServer) -> None:
        connector, _, _ = build(name, httpserver)
        _, first = run(connector)
        assert first, "a full sync must checkpoint its streams"
        latest: dict[tuple[str, str], datetime] = {}
        for cp in first:
            key = (cp.stream, cp.partition)
            assert key not in latest or cp.cursor >= latest[key], f"cursor of {key} moved back"
            latest[key] = cp.cursor
        _, second = run(connector, latest)
        for cp in second:
            assert cp.cursor >= latest[(cp.stream, cp.partition)], "an incremental sync rewound a cursor"

    def test_429_and_5xx_are_retried(self, name: str, httpserver: HTTPServer) -> None:
        clean, _ = run(build(name, httpserver)[0])
        httpserver.clear()
        connector, _, api = build(name, httpserver, faults=True)
        faulty, _ = run(connector)
        assert {s: sorted(r.pk for r in rs) for s, rs in faulty.items()} == {
            s: sorted(r.pk for r in rs) for s, rs in clean.items()
        }
        assert any(count >= 3 for count in api.seen.values()), "faults were not injected"

    def test_no_secret_in_logs(self, name: str, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
        connector, _, _ = build(name, httpserver, faults=True)
        with caplog.at_level(logging.DEBUG):
            run(connector)
        assert caplog.records, "a sync must log its progress"
        assert TOKEN not in caplog.text
