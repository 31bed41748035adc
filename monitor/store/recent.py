"""Read-only views for the status page: recent statuses of every contract (for sparks) in
one query, and the alert transitions of one contract."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.store.schema import history, transitions

if TYPE_CHECKING:
    from monitor.store.core import Database


def recent_statuses(
    store: Database, since: datetime, per_contract: int = 24
) -> dict[str, list[str]]:
    """The last `per_contract` kept statuses of each contract since `since`, oldest first.

    One windowed query (SQLite ≥ 3.25 and PostgreSQL both have ROW_NUMBER), so the page
    costs one round trip however many contracts there are."""
    rn = (
        sa.func.row_number()
        .over(
            partition_by=history.c.name, order_by=(history.c.checked_at.desc(), history.c.id.desc())
        )
        .label("rn")
    )
    inner = (
        sa.select(history.c.name, history.c.status, history.c.checked_at, history.c.id, rn)
        .where(history.c.checked_at >= since)
        .subquery()
    )
    query = (
        sa.select(inner.c.name, inner.c.status)
        .where(inner.c.rn <= per_contract)
        .order_by(inner.c.name, inner.c.checked_at, inner.c.id)
    )
    out: dict[str, list[str]] = {}
    with store.read() as conn:
        for name, status in conn.execute(query):
            out.setdefault(name, []).append(status)
    return out


def recent_transitions(store: Database, name: str, limit: int = 20) -> list[dict[str, Any]]:
    """Alert transitions of one contract, newest first, as plain dicts for the page."""
    t = transitions.c
    query = (
        sa.select(t.at, t.kind, t.from_status, t.to_status, t.silenced, t.outcome)
        .where(t.contract == name)
        .order_by(t.at.desc(), t.id.desc())
        .limit(limit)
    )
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
