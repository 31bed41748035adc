"""Property tests (hypothesis) for durations: parse ∘ format round trips, bounds, garbage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.core.durations import MAX_DURATION, compact_duration, format_duration, parse_duration

UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
WHOLE_SECONDS = st.integers(1, int(MAX_DURATION.total_seconds())).map(
    lambda s: timedelta(seconds=s)
)


@given(WHOLE_SECONDS)
@example(timedelta(seconds=1))
@example(MAX_DURATION)
def test_compact_text_parses_back_to_the_same_duration(delta: timedelta) -> None:
    assert parse_duration(compact_duration(delta)) == delta


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(UNITS))), min_size=1, max_size=5
    )
)
def test_parts_add_up_and_canonical_text_keeps_the_value(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in parts)
    total = sum((n * UNITS[unit] for n, unit in parts), timedelta())
    if total <= timedelta(0) or total > MAX_DURATION:
        with pytest.raises(ValueError, match="duration"):
            parse_duration(text)
        return
    parsed = parse_duration(text)
    assert abs(parsed - total) < timedelta(microseconds=2)  # ms parts go through a float
    if parsed.microseconds == 0:
        assert parse_duration(compact_duration(parsed)) == parsed


@given(st.text(max_size=30))
@example("\u0661h")  # Arabic-Indic digit: int() reads it, a YAML reader would not
@example("99999999999999999999d")  # overflowed timedelta before
@example("9" * 5000 + "s")  # past int()'s digit limit
@example("1h 30m")
@example("-5m")
@example("1.5h")
def test_any_text_is_a_duration_in_bounds_or_a_value_error(text: str) -> None:
    try:
        parsed = parse_duration(text)
    except ValueError as exc:
        assert repr(text)[:20] in str(exc) or "duration" in str(exc)
        return
    assert timedelta(0) < parsed <= MAX_DURATION
    assert text.strip().isascii()


@given(st.integers(1, 10**20), st.sampled_from(["s", "m", "h", "d", "w"]))
def test_durations_past_a_century_are_refused_by_name(n: int, unit: str) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    if n * seconds <= MAX_DURATION.total_seconds():
        assert parse_duration(f"{n}{unit}") == timedelta(seconds=n * seconds)
        return
    with pytest.raises(ValueError, match="longer than the limit"):
        parse_duration(f"{n}{unit}")


@given(st.integers(-(10**9), 10**9))
def test_human_text_is_a_truncation_of_the_age(seconds: int) -> None:
    """`format_duration` drops the small units, never more than the unit below the first."""
    text = format_duration(timedelta(seconds=seconds))
    sign = -1 if text.startswith("-") else 1
    assert (sign < 0) == (seconds < 0)
    if seconds == 0:
        assert text == "0s"
        return
    shown = parse_duration(text.lstrip("-").replace(" ", ""))
    lost = timedelta(seconds=abs(seconds)) - shown
    first = text.lstrip("-")
    granularity = (
        timedelta(hours=1)
        if "d" in first
        else timedelta(minutes=1)
        if "h" in first or ("m" in first and "s" not in first)
        else timedelta(seconds=1)
    )
    assert timedelta(0) <= lost < granularity
