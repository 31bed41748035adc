"""Maintenance windows (SPEC 15): when a window is open, DST included, as pure functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.alerts.maintenance import open_windows, span_at, until
from monitor.alerts.routing import Subject, silenced
from monitor.config.alert_settings import MaintenanceWindow
from monitor.config.settings_schema import validate_settings
from monitor.core.clock import FakeClock


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(**kw: Any) -> MaintenanceWindow:
    return validate_settings({"alerts": {"maintenance": [kw]}}).alerts.maintenance[0]


NIGHTLY = window(match={"owner": "ops"}, schedule="0 2 * * *", duration="1h", timezone="UTC")
OPS = Subject("raw.orders", "ops", "critical", ("shopify",), {})
FIN = Subject("fin.ledger", "finance", "warning", (), {})


def test_a_scheduled_window_opens_at_its_tick_and_closes_after_its_duration() -> None:
    clock = FakeClock(utc(2026, 12, 4, 1, 59, 59))
    assert span_at(NIGHTLY, clock.now()) is None
    clock.advance(timedelta(seconds=1))
    assert span_at(NIGHTLY, clock.now()) == (utc(2026, 12, 4, 2), utc(2026, 12, 4, 3))
    clock.set(utc(2026, 12, 4, 2, 59, 59))
    assert span_at(NIGHTLY, clock.now()) == (utc(2026, 12, 4, 2), utc(2026, 12, 4, 3))
    clock.advance(timedelta(seconds=1))  # the end is not part of the window
    assert span_at(NIGHTLY, clock.now()) is None


def test_a_one_off_window_is_open_from_its_start_until_its_end() -> None:
    w = window(match={"tag": "shopify"}, start="2026-12-24T18:00:00Z", end="2026-12-26T08:00:00Z")
    assert span_at(w, utc(2026, 12, 24, 17, 59)) is None
    assert span_at(w, utc(2026, 12, 24, 18)) == (utc(2026, 12, 24, 18), utc(2026, 12, 26, 8))
    assert span_at(w, utc(2026, 12, 26, 8)) is None


def test_a_one_off_time_without_offset_is_read_in_the_windows_timezone() -> None:
    w = window(start="2026-12-24T18:00", end="2026-12-24T20:00", timezone="Europe/Berlin")
    assert w.starts_at == utc(2026, 12, 24, 17)


def test_a_daily_window_in_the_hour_fall_back_repeats_opens_once() -> None:
    # 01:30 New York on 2026-11-01 happens twice (05:30Z and 06:30Z); cron runs it once.
    w = window(schedule="30 1 * * *", duration="30m", timezone="America/New_York")
    assert span_at(w, utc(2026, 11, 1, 5, 45)) == (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6))
    assert span_at(w, utc(2026, 11, 1, 6, 45)) is None  # the second 01:45 is outside


def test_a_daily_window_in_the_hour_spring_forward_skips_opens_at_the_jump() -> None:
    # 02:30 New York does not exist on 2026-03-08; cron fires at the jump, 03:00 EDT = 07:00Z.
    w = window(schedule="30 2 * * *", duration="1h", timezone="America/New_York")
    assert span_at(w, utc(2026, 3, 8, 6, 59)) is None
    assert span_at(w, utc(2026, 3, 8, 7, 0)) == (utc(2026, 3, 8, 7), utc(2026, 3, 8, 8))


def test_the_duration_is_real_time_across_a_dst_change() -> None:
    # Berlin falls back at 03:00 on 2026-10-25: a 3h window from 01:00 local ends 03:00 local
    # (winter), which is 02:00Z, not 01:00Z + the wall-clock difference.
    w = window(schedule="0 1 * * *", duration="3h", timezone="Europe/Berlin")
    assert span_at(w, utc(2026, 10, 25, 1, 30)) == (utc(2026, 10, 24, 23), utc(2026, 10, 25, 2))


def test_overlapping_windows_of_one_schedule_count_as_one() -> None:
    w = window(schedule="0 * * * *", duration="90m")
    start, end = span_at(w, utc(2026, 12, 4, 10, 10)) or (None, None)
    assert end is not None and end - utc(2026, 12, 4, 10, 10) > timedelta(days=1)
    assert start is not None and start <= utc(2026, 12, 4, 10, 10)


def test_until_is_the_latest_end_of_the_open_windows_matching_the_contract() -> None:
    long = window(match={"contract": "raw.*"}, start="2026-12-04T00:00Z", end="2026-12-05T00:00Z")
    found = open_windows([NIGHTLY, long], utc(2026, 12, 4, 2, 30))
    assert [w.id for w in found] == ["config-1", "config-2"]
    assert until(found, OPS) == utc(2026, 12, 5)
    assert until(found, FIN) is None
    assert until(open_windows([NIGHTLY, long], utc(2026, 12, 6)), OPS) is None


def test_an_open_window_holds_alerts_as_a_silence_does() -> None:
    found = open_windows([NIGHTLY], utc(2026, 12, 4, 2, 30))
    assert silenced([w.matchers for w in found], OPS)
    assert not silenced([w.matchers for w in found], FIN)


def test_a_window_without_match_holds_every_contract() -> None:
    w = window(start="2026-12-04T00:00Z", end="2026-12-05T00:00Z")
    found = open_windows([w], utc(2026, 12, 4, 12))
    assert found[0].describe() == "contract:*"
    assert silenced([found[0].matchers], FIN)


def test_metadata_keys_match_as_in_routes() -> None:
    w = window(match={"metadata.tier": "gold"}, start="2026-12-04T00:00Z", end="2026-12-05T00:00Z")
    found = open_windows([w], utc(2026, 12, 4, 12))
    gold = Subject("a", "ops", "info", (), {"tier": "gold"})
    assert until(found, gold) == utc(2026, 12, 5)
    assert until(found, OPS) is None


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"schedule": "0 2 * * *"}, "needs both schedule and duration"),
        ({"start": "2026-12-04T00:00Z"}, "needs both start and end"),
        ({"schedule": "0 2 * * *", "duration": "1h", "end": "2026-12-04T00:00Z"}, "not both"),
        ({"match": {"owner": "ops"}}, "give schedule + duration"),
        ({"start": "2026-12-05T00:00Z", "end": "2026-12-04T00:00Z"}, "end must be after start"),
        ({"start": "tomorrow", "end": "2026-12-04T00:00Z"}, "is not a time"),
        ({"schedule": "0 2 * *", "duration": "1h"}, "needs 5"),
        ({"schedule": "0 2 * * *", "duration": "1h", "timezone": "Europe/Berln"}, "did you mean"),
        ({"match": {"ownr": "x"}, "schedule": "0 2 * * *", "duration": "1h"}, "did you mean"),
    ],
)
def test_a_malformed_window_is_refused_with_a_reason(entry: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(says)):
        validate_settings({"alerts": {"maintenance": [entry]}})
