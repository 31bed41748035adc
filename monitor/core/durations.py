"""Durations as users write them: `90s`, `20m`, `1h30m`, `2d`."""

from __future__ import annotations

import re
from datetime import timedelta

# ASCII digits only: `\d` would also take Arabic-Indic or full-width digits, which int()
# accepts, so text no reader of the YAML would call a number passed as one.
_PART = re.compile(r"([0-9]{1,30})(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# A limit, retention or silence longer than a century is a typo; beyond ~2.7 million years
# `timedelta` overflows, and a deadline (`last_update + limit`) must stay a valid datetime.
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`-style text; raise ValueError with a readable message."""
    s = str(text).strip()
    pos, total, seen = 0, 0.0, False
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos, seen = m.end(), True
    if not seen or pos != len(s):
        raise ValueError(f"invalid duration {text!r} (use e.g. 90s, 20m, 1h30m, 2d)")
    if total <= 0:
        raise ValueError(f"duration {text!r} must be greater than zero")
    if total > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {text!r} is longer than the limit of 36500d (100 years)")
    return timedelta(seconds=total)
def format_duration(delta: timedelta | float) -> str:
    """Render seconds the way people read ages: `3h 12m`, `2d 4h`, `45s`."""
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        out = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        out = f"{hours}h {minutes}m" if minutes else f"{hours}h"
    elif minutes:
        out = f"{minutes}m {secs}s" if secs and minutes < 10 else f"{minutes}m"
    else:
        out = f"{secs}s"
    return sign + out


def compact_duration(delta: timedelta) -> str:
    """Render a threshold the way it is written in YAML: `1h30m`, `20m`, `2d`."""
    s = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, s = divmod(s, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def doubling(first: timedelta, attempts: int, cap: timedelta) -> timedelta:
    """The wait after `attempts` failed tries: `first`, doubling each time, at most `cap`
    (evaluation retries in serve, alert deliveries in the outbox)."""
    return min(cap, first * (1 << max(0, min(attempts, 30) - 1)))
