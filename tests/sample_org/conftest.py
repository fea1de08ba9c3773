"""Shared by the sample_org tests: one 20-service, 365-day organisation (a second to build) and an HTTP session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests

from sample_org import Organisation, generate

END = dt.date(2025, 6, 1)


@pytest.fixture(scope="session")
def org() -> Organisation:
    return generate(n_services=20, days=365, seed=7, end=END)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
