"""Every timestamp format the source APIs write, to one aware UTC datetime; anything else named in the error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.timeparse import parse_timestamp

MOMENT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-02T03:04:05Z",  # GitHub, PagerDuty
        "2024-01-02T03:04:05.000Z",  # GitLab, Opsgenie
        "2024-01-02T03:04:05+00:00",
        "2024-01-02T04:04:05+01:00",
        "2024-01-02T04:04:05.000+0100",  # Jira
        "2024-01-01T19:04:05-0800",  # git's own format
        "2024-01-02 03:04:05 UTC",
        "2024-01-02 04:04:05 +01:00",
        " 2024-01-02T03:04:05Z ",
        "2024-01-02T03:04:05",  # naive: taken as UTC
        "1704164645000",  # epoch milliseconds, as a string or a number
        1704164645000,
    ],
)
def test_every_format_is_the_same_moment_in_utc(value: str | int) -> None:
    parsed = parse_timestamp(value)
    assert parsed == MOMENT
    assert parsed is not None and parsed.tzinfo == UTC


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z", True, ["2024-01-02"]])
def test_anything_else_is_refused_by_name(value: object) -> None:
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_timestamp(value)  # type: ignore[arg-type]


def test_empty_is_none() -> None:
    assert parse_timestamp(None) is None
    assert parse_timestamp("") is None
