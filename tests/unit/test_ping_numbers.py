"""Heartbeat numbers are bounded in one place (`fresh ping`, `fresh run`, the ping API)."""

from __future__ import annotations

import math

import pytest

from monitor.core.errors import UsageError
from monitor.sources.heartbeat.pings import MAX_DURATION, check_numbers


@pytest.mark.parametrize(
    ("exit_code", "duration"),
    [(0, None), (255, None), (None, 0.0), (3, 12.5), (None, MAX_DURATION)],
)
def test_exit_codes_0_to_255_and_durations_up_to_a_year_pass(
    exit_code: int | None, duration: float | None
) -> None:
    check_numbers(exit_code, duration)


@pytest.mark.parametrize(
    ("exit_code", "duration"),
    [
        (-1, None), (256, None), (2**63, None),
        (None, -0.001), (None, 1e308), (None, math.inf), (None, math.nan),
        (None, MAX_DURATION + 1),
    ],
)
def test_anything_else_is_a_usage_error(exit_code: int | None, duration: float | None) -> None:
    with pytest.raises(UsageError):
        check_numbers(exit_code, duration)
