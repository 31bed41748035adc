"""Turn a value read from a file or a run log into an aware UTC datetime.

Naive values are read in the warehouse's timezone (SPEC 2: `timezone`, default UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from monitor.errors import SourceError
from monitor.models import ColumnFormat


def to_utc(value: object, tz: str = "UTC", fmt: ColumnFormat | None = None) -> datetime | None:
    """`value` as an aware UTC datetime; None stays None. Raises SourceError when unreadable."""
    if value is None:
        return None
    zone = ZoneInfo(tz)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), zone).astimezone(UTC)
    if isinstance(value, bool):
        raise SourceError(f"{value!r} is not a timestamp")
    if isinstance(value, int | float):
        if fmt is None:
            raise SourceError(
                f"{value!r} is a number; set column_format: epoch_s or epoch_ms to read it"
            )
        seconds = value / 1000 if fmt == "epoch_ms" else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        text = value.strip()
        if fmt is not None and text.lstrip("-").replace(".", "", 1).isdigit():
            return to_utc(float(text), tz, fmt)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise SourceError(f"{value!r} is not an ISO-8601 timestamp") from None
        return to_utc(parsed, tz)
    raise SourceError(f"{value!r} ({type(value).__name__}) is not a timestamp")
