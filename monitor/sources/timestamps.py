"""Turn whatever a source returned into an aware UTC datetime, exactly.

A source may hand back a timestamp (naive or aware), a date, a number of seconds or
milliseconds since the epoch (`column_format`), or ISO-8601 text. Naive values are wall
times in the warehouse's `timezone`. No floating point touches an integer epoch, so a
millisecond stays a millisecond.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FORMATS = ("epoch_s", "epoch_ms")


class TimestampError(ValueError):
    """The value cannot be read as a point in time; the message says why."""


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The IANA zone `name` (cached; ZoneInfo lookups read files)."""
    if name in ("UTC", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise TimestampError(f"unknown timezone {name!r}") from None


def to_utc(value: object, *, tz: str = "UTC", column_format: str | None = None) -> datetime | None:
    """`value` as an aware UTC datetime; None (no data) for NULL.

    `tz` is how naive timestamps, dates and naive ISO text are read. `column_format`
    (`epoch_s` / `epoch_ms`) is required for numbers, so a number is never guessed.
    Raises TimestampError for anything else.
    """
    if value is None:
        return None
    if column_format is not None:
        if column_format not in _FORMATS:
            raise TimestampError(f"unknown column_format {column_format!r}")
        return _from_epoch(value, column_format)
    if isinstance(value, datetime):
        return _aware(value, tz)
    if isinstance(value, date):
        return _aware(datetime.combine(value, time()), tz)
    if isinstance(value, str):
        return _from_text(value, tz)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise TimestampError(
            f"the newest value is the number {value}; "
            "set column_format: epoch_s or epoch_ms to read numbers as epoch times"
        )
    if isinstance(value, bytes):
        raise TimestampError("the newest value is binary data, not a timestamp")
    raise TimestampError(f"the newest value {value!r} ({type(value).__name__}) is not a timestamp")


def _aware(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        # fold=0: a wall time repeated at fall-back is read as its first occurrence.
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(UTC)


def _from_text(text: str, tz: str) -> datetime:
    s = text.strip()
    if s.lower() in ("infinity", "+infinity", "-infinity"):
        raise TimestampError(f"the newest value is {s!r}, not a point in time")
    # Python 3.11 reads ISO 8601 with 'T' or ' ', 'Z', and offsets like +02, +0200, +02:00.
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise TimestampError(
            f"the newest value {_short(s)!r} is not an ISO-8601 timestamp"
        ) from None
    return _aware(parsed, tz)


def _from_epoch(value: object, column_format: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise TimestampError(
            f"column_format: {column_format} expects a number, got {_short(repr(value))}"
        )
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise TimestampError(
                f"column_format: {column_format} expects a number, got {_short(value)!r}"
            ) from None
        value = number
    if isinstance(value, float):
        value = Decimal(repr(value))  # the float's shortest exact decimal form
    assert isinstance(value, int | Decimal)
    if isinstance(value, Decimal) and not value.is_finite():
        raise TimestampError(f"the newest value {value} is not a point in time")
    micros = value * (1_000_000 if column_format == "epoch_s" else 1_000)
    try:
        return _EPOCH + timedelta(microseconds=int(micros))
    except OverflowError:
        raise TimestampError(
            f"the newest value {value} is out of range for {column_format}"
        ) from None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
