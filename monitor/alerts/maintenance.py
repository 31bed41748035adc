"""Maintenance windows: silences declared in fresh.yml (`alerts.maintenance:`), pure.

A window is open at `now` when `now` lies in [start, end): a one-off window has fixed
times; a scheduled one starts at each cron tick (read in its `timezone`, DST as cron runs
it: see `monitor.core.schedule`) and lasts `duration` of real time. Windows of one schedule
that touch or overlap count as one, ending when the last of them ends.

While open, a window holds notifications exactly as a silence does (its `match` becomes
the silence's matchers, see `matcher_lists`), so the rest of the alert pipeline needs no
second rule. Nothing here reads a clock or the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.alerts.routing import Subject, matches
from monitor.config.alert_settings import MaintenanceWindow
from monitor.core.models import Contract
from monitor.core.schedule import first_tick_after

Matchers = tuple[tuple[str, str], ...]

# A schedule whose windows overlap forever ("* * * * *" lasting 2h) is followed this many
# ticks ahead, no more: its end is then "at least" that far, which is all a caller needs.
_MAX_CHAIN = 1000
_EVERYTHING: Matchers = (("contract", "*"),)


@dataclass(frozen=True)
class OpenWindow:
    """One maintenance window open at some instant."""

    index: int  # its position under alerts.maintenance (0-based)
    window: MaintenanceWindow
    starts_at: datetime
    ends_at: datetime

    @property
    def id(self) -> str:
        """How `fresh silence list` names it: `config-1` is the first window in fresh.yml."""
        return f"config-{self.index + 1}"

    @property
    def matchers(self) -> Matchers:
        """Its `match` as silence matchers; an empty match holds every contract."""
        pairs = tuple((k, str(v)) for k, v in self.window.match.items())
        return pairs or _EVERYTHING

    def describe(self) -> str:
        """`owner:ops tag:nightly` — the match as `fresh silence list` prints matchers."""
        return " ".join(f"{k}:{v}" for k, v in self.matchers)


def span_at(window: MaintenanceWindow, now: datetime) -> tuple[datetime, datetime] | None:
    """(start, end) of `window` if it is open at `now` (aware UTC), else None."""
    if window.schedule is None or window.duration is None:
        start, end = window.starts_at, window.ends_at
        return (start, end) if start <= now < end else None
    expr, tz, length = window.schedule, window.timezone, window.duration
    # the first tick after now - duration is the earliest window that can still be open
    tick = first_tick_after(expr, tz, now - length)
    if tick > now:
        return None
    start, end = tick, tick + length
    for _ in range(_MAX_CHAIN):
        tick = first_tick_after(expr, tz, tick)
        if tick > end:
            break
        end = max(end, tick + length)
    return start, end


def open_windows(windows: Sequence[MaintenanceWindow], now: datetime) -> list[OpenWindow]:
    """The windows open at `now`, in fresh.yml order."""
    out = []
    for i, w in enumerate(windows):
        span = span_at(w, now)
        if span is not None:
            out.append(OpenWindow(i, w, *span))
    return out


def until(open_: Sequence[OpenWindow], subject: Subject) -> datetime | None:
    """When the maintenance of `subject` ends (the latest end of the open windows that
    match it), or None when none does."""
    ends = [w.ends_at for w in open_ if matches(w.matchers, subject)]
    return max(ends) if ends else None


def until_by_contract(
    windows: Sequence[MaintenanceWindow], contracts: Iterable[Contract], now: datetime
) -> dict[str, datetime]:
    """Contract name → end of its maintenance, for the contracts in a window at `now`
    (the JSON's `maintenance_until`, the status page, `fresh_maintenance`)."""
    found = open_windows(windows, now)
    if not found:
        return {}
    out = {}
    for c in contracts:
        end = until(found, Subject(c.name, c.owner, c.severity.value, c.tags, c.metadata))
        if end is not None:
            out[c.name] = end
    return out


def matcher_lists(open_: Sequence[OpenWindow]) -> list[Matchers]:
    """The open windows as silences (what `routing.silenced` takes)."""
    return [w.matchers for w in open_]
