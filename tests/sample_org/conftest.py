"""One 20-service, 365-day organisation shared by the sample_org tests (it takes about a second)."""

from __future__ import annotations

import datetime as dt

import pytest

from sample_org import Organisation, generate

END = dt.date(2025, 6, 1)


@pytest.fixture(scope="session")
def org() -> Organisation:
    return generate(n_services=20, days=365, seed=7, end=END)
