"""Silences in the state store: add, list, remove, and the ones active at `now`.

A silence is a list of matchers (`contract:GLOB`, `owner:X`, `tag:X`, `severity:X`; all
must fit) with an end. It ends on its own; `remove` ends it at once (the row stays, with
its end moved to now, so `list --all` style audits remain possible). Writes are short
transactions, fine beside a running `fresh serve` on SQLite (WAL). The SQL is in
monitor/store/silences.py, reached through `Store`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from monitor.alerts.routing import parse_matcher
from monitor.store import Store
from monitor.store.records import Silence, SilenceMatchers

Matchers = SilenceMatchers

__all__ = ["Matchers", "Silence", "active", "add", "matcher_lists", "parse_matchers", "remove"]


def parse_matchers(texts: Sequence[str]) -> Matchers:
    """Parse every MATCH argument; ValueError naming the first bad one."""
    if not texts:
        raise ValueError("give at least one matcher: contract:GLOB, owner:X, tag:X or severity:X")
    return tuple(parse_matcher(t) for t in texts)


def add(
    store: Store,
    matchers: Matchers,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    created_by: str = "",
) -> Silence:
    """Store a new silence; returns it with its ID."""
    s = Silence(secrets.token_hex(4), matchers, reason, starts_at, ends_at, created_by)
    store.add_silence(s)
    return s


def active(store: Store, now: datetime) -> list[Silence]:
    """Silences in force at `now`, soonest end first."""
    return store.active_silences(now)


def remove(store: Store, silence_id: str, now: datetime) -> bool:
    """End a silence now; False when no active silence has that ID."""
    return store.end_silence(silence_id, now)


def matcher_lists(found: Sequence[Silence]) -> list[Matchers]:
    """The matchers of each silence, as `routing.silenced` takes them."""
    return [s.matchers for s in found]
