"""The alerts' rows in the state store: `alert_state` (one per contract) and the
`transitions` it records (SPEC section 7). The SQL, behind functions.

`monitor.alerts.record` decides (the lifecycle rules) and calls these in its own
transaction: advancing a contract's state is a compare-and-set on `version` in the same
transaction that inserts the transition (unique on (contract, seq)), so a second worker,
a replayed hook or a restart records each transition once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from monitor.core.models import AlertState, Status
from monitor.store.core import chunks
from monitor.store.schema import alert_state, contract_state, transitions

CLOSED = "closed"  # the outcome of a transition that goes nowhere (its contract was removed)


def _state_of(row: Any) -> AlertState:
    m = row._mapping
    return AlertState(
        contract=m["contract"],
        status=None if m["status"] is None else Status(m["status"]),
        seq=int(m["seq"]),
        episode=int(m["episode"]),
        open=bool(m["open"]),
        next_repeat_at=m["next_repeat_at"],
        muted=bool(m["muted"]),
        version=int(m["version"]),
    )


def load(conn: Connection, names: Iterable[str] | None = None) -> dict[str, AlertState]:
    """Alert states by contract (all of them when `names` is None)."""
    if names is None:
        return {s.contract: s for s in map(_state_of, conn.execute(sa.select(alert_state)))}
    out: dict[str, AlertState] = {}
    for part in chunks(list(dict.fromkeys(names))):
        query = sa.select(alert_state).where(alert_state.c.contract.in_(part))
        out.update({s.contract: s for s in map(_state_of, conn.execute(query))})
    return out


def write(conn: Connection, old: AlertState | None, new: AlertState) -> bool:
    """Compare-and-set `new` over `old` (insert when there was no row); False if lost."""
    values = {
        "status": None if new.status is None else new.status.value,
        "seq": new.seq,
        "episode": new.episode,
        "open": new.open,
        "next_repeat_at": new.next_repeat_at,
        "muted": new.muted,
        "version": new.version,
    }
    if old is None:
        # another replica may be inserting the same first row right now: on a conflict the
        # insert waits for it and does nothing (a lost race), instead of failing the batch
        dialect = pg_dialect if conn.dialect.name == "postgresql" else sqlite_dialect
        inserted = conn.execute(
            dialect.insert(alert_state)
            .values(contract=new.contract, **values)
            .on_conflict_do_nothing(index_elements=[alert_state.c.contract])
            .returning(alert_state.c.contract)  # rowcount is -1 here under psycopg 3
        ).first()
        return inserted is not None
    result = conn.execute(
        alert_state.update()
        .where(alert_state.c.contract == new.contract, alert_state.c.version == old.version)
        .values(**values)
    )
    return bool(result.rowcount == 1)


def add_transition(
    conn: Connection,
    *,
    contract: str,
    seq: int,
    episode: int,
    kind: str,
    status: Status,
    previous: Status | None,
    at: datetime,
    owner: str,
    facts: Mapping[str, Any] | None,
    closed: bool = False,
) -> None:
    """Insert one transition; `closed` ones are decided at once (they are never sent)."""
    conn.execute(
        transitions.insert().values(
            contract=contract,
            seq=seq,
            from_status=None if previous is None else previous.value,
            to_status=status.value,
            at=at,
            kind=kind,
            episode=episode,
            owner=owner,
            facts=None if facts is None else dict(facts),
            outcome=CLOSED if closed else None,
            decided_at=at if closed else None,
        )
    )


def open_contracts(conn: Connection) -> list[str]:
    """Contracts with an open alert."""
    query = sa.select(alert_state.c.contract).where(alert_state.c.open.is_(True))
    return list(conn.execute(query).scalars())


def last_owner(conn: Connection, contract: str) -> str:
    """The owner of the contract's newest transition ("" without one)."""
    owner = conn.execute(
        sa.select(transitions.c.owner)
        .where(transitions.c.contract == contract)
        .order_by(transitions.c.seq.desc())
        .limit(1)
    ).scalar()
    return str(owner or "")


def close_pending(conn: Connection, contract: str, now: datetime) -> None:
    """The contract's transitions still waiting for their group go nowhere: closed."""
    conn.execute(
        transitions.update()
        .where(transitions.c.contract == contract, transitions.c.outcome.is_(None))
        .values(outcome=CLOSED, decided_at=now)
    )


def candidates(conn: Connection, names: Iterable[str], now: datetime) -> list[str]:
    """Of `names`, the contracts whose alert may need a step: status differs from what the
    alerts saw, a repeat is due, or it is muted (its silence may have ended). One indexed
    join, so a quiet store of 10,000 contracts costs milliseconds per round, not a full
    replay."""
    a, cs = alert_state, contract_state
    rows = conn.execute(
        sa.select(cs.c.name)
        .select_from(cs.outerjoin(a, a.c.contract == cs.c.name))
        .where(
            sa.or_(
                a.c.contract.is_(None),
                a.c.status.is_(None),
                a.c.status != cs.c.status,
                sa.and_(a.c.open.is_(True), a.c.muted.is_(True)),
                sa.and_(a.c.open.is_(True), a.c.next_repeat_at <= now),
            )
        )
    ).scalars()
    wanted = set(names)
    return [n for n in rows if n in wanted]

