"""Silences in the state store (SPEC section 7): the SQL, behind functions.

A silence ends on its own at `ends_at`; ending it early moves `ends_at` to now and keeps
the row, so audits of past silences remain possible. `monitor.alerts.silences` parses
matchers and decides what a silence mutes.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.store.records import Silence
from monitor.store.schema import silences

if TYPE_CHECKING:
    from monitor.store.core import Database


def add(store: Database, s: Silence) -> None:
    """Store a new silence."""
    with store.write() as conn:
        conn.execute(
            silences.insert().values(
                id=s.id,
                matchers=[list(m) for m in s.matchers],
                reason=s.reason,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                created_by=s.created_by,
            )
        )


def _to_silence(row: sa.Row[Any]) -> Silence:
    m = row._mapping
    return Silence(
        id=str(m["id"]),
        matchers=tuple((str(k), str(v)) for k, v in m["matchers"]),
        reason=str(m["reason"] or ""),
        starts_at=m["starts_at"],
        ends_at=m["ends_at"],
        created_by=str(m["created_by"] or ""),
    )


def active(store: Database, now: datetime) -> list[Silence]:
    """Silences in force at `now`, soonest end first."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(silences)
            .where(silences.c.starts_at <= now, silences.c.ends_at > now)
            .order_by(silences.c.ends_at, silences.c.id)
        ).all()
    return [_to_silence(r) for r in rows]


def end(store: Database, silence_id: str, now: datetime) -> bool:
    """End a silence at `now`; False when no active silence has that ID."""
    with store.write() as conn:
        result = conn.execute(
            silences.update()
            .where(silences.c.id == silence_id, silences.c.ends_at > now)
            .values(ends_at=now)
        )
    return bool(result.rowcount == 1)
