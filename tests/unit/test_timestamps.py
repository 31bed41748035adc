"""Values a source returns → aware UTC datetimes (monitor/sources/timestamps.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from monitor.sources.timestamps import TimestampError, to_utc

BERLIN = "Europe/Berlin"


def test_null_is_no_data() -> None:
    assert to_utc(None) is None
    assert to_utc(None, column_format="epoch_ms") is None


def test_a_naive_timestamp_is_read_in_the_warehouse_timezone() -> None:
    got = to_utc(datetime(2026, 7, 1, 12, 0), tz=BERLIN)
    assert got == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert got is not None and got.tzinfo is UTC


def test_a_naive_timestamp_in_winter_uses_the_winter_offset() -> None:
    assert to_utc(datetime(2026, 1, 1, 12, 0), tz=BERLIN) == datetime(2026, 1, 1, 11, tzinfo=UTC)


def test_an_aware_timestamp_keeps_its_instant_whatever_the_warehouse_timezone() -> None:
    value = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    assert to_utc(value, tz=BERLIN) == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)


def test_microseconds_survive() -> None:
    got = to_utc(datetime(2026, 7, 1, 12, 0, 0, 123456))
    assert got == datetime(2026, 7, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_a_date_is_midnight_in_the_warehouse_timezone() -> None:
    assert to_utc(date(2026, 7, 1)) == datetime(2026, 7, 1, tzinfo=UTC)
    assert to_utc(date(2026, 7, 1), tz=BERLIN) == datetime(2026, 6, 30, 22, tzinfo=UTC)


def test_a_repeated_fall_back_wall_time_reads_as_its_first_occurrence() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25: first at +02:00.
    got = to_utc(datetime(2026, 10, 25, 2, 30), tz=BERLIN)
    assert got == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01T12:00:00Z", datetime(2026, 7, 1, 12, tzinfo=UTC)),
        ("2026-07-01 12:00:00+02:00", datetime(2026, 7, 1, 10, tzinfo=UTC)),
        ("2026-07-01 12:00:00+02", datetime(2026, 7, 1, 10, tzinfo=UTC)),
        ("2026-07-01T12:00:00.250+05:30", datetime(2026, 7, 1, 6, 30, 0, 250000, tzinfo=UTC)),
        ("  2026-07-01T12:00:00Z ", datetime(2026, 7, 1, 12, tzinfo=UTC)),
    ],
)
def test_iso_text_with_an_offset_is_exact(text: str, expected: datetime) -> None:
    assert to_utc(text, tz=BERLIN) == expected


def test_naive_iso_text_is_read_in_the_warehouse_timezone() -> None:
    assert to_utc("2026-07-01 12:00:00", tz=BERLIN) == datetime(2026, 7, 1, 10, tzinfo=UTC)
    assert to_utc("2026-07-01", tz=BERLIN) == datetime(2026, 6, 30, 22, tzinfo=UTC)


def test_text_that_is_not_iso_is_an_error_that_quotes_it() -> None:
    with pytest.raises(TimestampError, match="'yesterday' is not an ISO-8601 timestamp"):
        to_utc("yesterday")


def test_infinity_is_not_a_point_in_time() -> None:
    with pytest.raises(TimestampError, match="infinity"):
        to_utc("infinity")


def test_epoch_seconds_are_exact() -> None:
    assert to_utc(1_782_907_200, column_format="epoch_s") == datetime(2026, 7, 1, 12, tzinfo=UTC)


def test_epoch_milliseconds_keep_the_millisecond() -> None:
    got = to_utc(1_782_907_200_123, column_format="epoch_ms")
    assert got == datetime(2026, 7, 1, 12, 0, 0, 123000, tzinfo=UTC)


def test_fractional_epoch_seconds_keep_the_microsecond() -> None:
    got = to_utc(Decimal("1782907200.000001"), column_format="epoch_s")
    assert got == datetime(2026, 7, 1, 12, 0, 0, 1, tzinfo=UTC)
    got = to_utc(1782907200.25, column_format="epoch_s")
    assert got == datetime(2026, 7, 1, 12, 0, 0, 250000, tzinfo=UTC)


def test_epoch_given_as_text_is_read_as_a_number() -> None:
    got = to_utc("1782907200123", column_format="epoch_ms")
    assert got == datetime(2026, 7, 1, 12, 0, 0, 123000, tzinfo=UTC)


def test_epoch_ignores_the_warehouse_timezone() -> None:
    got = to_utc(0, tz=BERLIN, column_format="epoch_s")
    assert got == datetime(1970, 1, 1, tzinfo=UTC)


def test_a_number_without_column_format_is_never_guessed() -> None:
    with pytest.raises(TimestampError, match="set column_format: epoch_s or epoch_ms"):
        to_utc(1_782_907_200)


def test_a_timestamp_with_column_format_is_an_error() -> None:
    with pytest.raises(TimestampError, match="expects a number"):
        to_utc(datetime(2026, 7, 1), column_format="epoch_s")


def test_an_epoch_out_of_range_is_an_error_not_a_crash() -> None:
    with pytest.raises(TimestampError, match="out of range"):
        to_utc(10**20, column_format="epoch_s")


def test_nan_is_not_a_point_in_time() -> None:
    with pytest.raises(TimestampError, match="not a point in time"):
        to_utc(float("nan"), column_format="epoch_s")


def test_booleans_and_bytes_are_not_timestamps() -> None:
    with pytest.raises(TimestampError):
        to_utc(True)
    with pytest.raises(TimestampError, match="binary"):
        to_utc(b"2026")


def test_an_aware_value_with_a_fixed_offset_converts() -> None:
    value = datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(hours=-3)))
    assert to_utc(value) == datetime(2026, 7, 1, 15, tzinfo=UTC)
