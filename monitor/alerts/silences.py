"""Silences in the state store: add, list, remove, and the ones active at `now`.

A silence is a list of matchers (`contract:GLOB`, `owner:X`, `tag:X`, `severity:X`; all
must fit) with an end. It ends on its own; `remove` ends it at once (the row stays, with
its end moved to now, so `list --all` style audits remain possible). Writes are short
transactions, fine beside a running `fresh serve` on SQLite (WAL).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from monitor.alerts.routing import parse_matcher
from monitor.store import Store
from monitor.store.schema import silences

Matchers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Silence:
    """One stored silence."""

    id: str
    matchers: Matchers
    reason: str
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""

    def describe(self) -> str:
        """`contract:raw_* owner:ops` — the matchers as the user typed them."""
        return " ".join(f"{k}:{v}" for k, v in self.matchers)

    def active(self, now: datetime) -> bool:
        """Whether it mutes alerts at `now`."""
        return self.starts_at <= now < self.ends_at


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
    with store.write() as conn:
        conn.execute(
            silences.insert().values(
                id=s.id,
                matchers=[list(m) for m in matchers],
                reason=reason,
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=created_by,
            )
        )
    return s


def _to_silence(row: sa.Row[tuple[object, ...]]) -> Silence:
    m = row._mapping
    return Silence(
        id=str(m["id"]),
        matchers=tuple((str(k), str(v)) for k, v in m["matchers"]),
        reason=str(m["reason"] or ""),
        starts_at=m["starts_at"],
        ends_at=m["ends_at"],
        created_by=str(m["created_by"] or ""),
    )


def active(store: Store, now: datetime) -> list[Silence]:
    """Silences in force at `now`, soonest end first."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(silences)
            .where(silences.c.starts_at <= now, silences.c.ends_at > now)
            .order_by(silences.c.ends_at, silences.c.id)
        ).all()
    return [_to_silence(r) for r in rows]


def remove(store: Store, silence_id: str, now: datetime) -> bool:
    """End a silence now; False when no active silence has that ID."""
    with store.write() as conn:
        result = conn.execute(
            silences.update()
            .where(silences.c.id == silence_id, silences.c.ends_at > now)
            .values(ends_at=now)
        )
    return bool(result.rowcount == 1)


def matcher_lists(found: Sequence[Silence]) -> list[Matchers]:
    """The matchers of each silence, as `routing.silenced` takes them."""
    return [s.matchers for s in found]
