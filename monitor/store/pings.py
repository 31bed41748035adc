"""Heartbeat pings: recording them, and summing up what they say per contract."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from monitor.store.core import chunks
from monitor.store.records import OUTPUT_LIMIT, PING_KINDS, HeartbeatState, Ping, PingKind
from monitor.store.schema import contract_state, pings

if TYPE_CHECKING:
    from monitor.store.core import Database


def tail(output: str | bytes | None, limit: int = OUTPUT_LIMIT) -> str | None:
    """The last `limit` bytes of a job's output, as text (a cut character is dropped)."""
    if output is None:
        return None
    data = output.encode("utf-8", "replace") if isinstance(output, str) else output
    if len(data) > limit:
        data = data[-limit:]
        # Drop UTF-8 continuation bytes left over from a character cut in half.
        while data and (data[0] & 0xC0) == 0x80:
            data = data[1:]
    return data.decode("utf-8", "replace")


def record_ping(
    store: Database,
    name: str,
    kind: PingKind,
    at: datetime,
    exit_code: int | None,
    duration: float | None,
    output: str | None,
    run_id: str | None,
) -> Ping:
    """Store one ping and pull the contract's next check to now, so a running `fresh
    serve` sees it at once instead of at its next poll."""
    if kind not in PING_KINDS:
        raise ValueError(f"unknown ping kind {kind!r}")
    output = tail(output)
    with store.write() as conn:
        ping_id = conn.execute(
            pings.insert()
            .values(
                name=name,
                kind=kind,
                at=at,
                exit_code=exit_code,
                duration=duration,
                output=output,
                run_id=run_id,
            )
            .returning(pings.c.id)
        ).scalar_one()
        conn.execute(
            contract_state.update()
            .where(
                contract_state.c.name == name,
                sa.or_(
                    contract_state.c.next_check_at.is_(None), contract_state.c.next_check_at > at
                ),
            )
            .values(next_check_at=at)
        )
    return Ping(int(ping_id), name, kind, at, exit_code, duration, output, run_id)


def _to_ping(row: Row[Any]) -> Ping:
    return Ping(
        id=int(row.id),
        name=row.name,
        kind=row.kind,
        at=row.at,
        exit_code=row.exit_code,
        duration_seconds=row.duration,
        output=row.output,
        run_id=row.run_id,
    )


def recent_pings(store: Database, name: str, limit: int = 50) -> list[Ping]:
    """Recent pings of one contract, newest first."""
    query = (
        sa.select(pings)
        .where(pings.c.name == name)
        .order_by(pings.c.at.desc(), pings.c.id.desc())
        .limit(limit)
    )
    with store.read() as conn:
        return [_to_ping(r) for r in conn.execute(query)]


def heartbeat_states(
    store: Database, names: Sequence[str], as_of: datetime | None = None
) -> dict[str, HeartbeatState]:
    """What the pings of each contract say; every name gets an entry. With `as_of`
    (`fresh check --at`), pings after it are not seen."""
    wanted = list(dict.fromkeys(names))
    out = {n: HeartbeatState(name=n) for n in wanted}
    with store.read() as conn:
        for part in chunks(wanted):
            out.update(_states(conn, part, as_of))
    return out


def success_times(
    store: Database, names: Sequence[str], since: datetime, until: datetime
) -> dict[str, list[datetime]]:
    """The times of each named contract's success pings in (since, until], oldest first
    (the backfill of a learned history, SPEC 13); names without any are absent."""
    out: dict[str, list[datetime]] = {}
    with store.read() as conn:
        for part in chunks(list(dict.fromkeys(names))):
            query = (
                sa.select(pings.c.name, pings.c.at)
                .where(
                    pings.c.name.in_(part),
                    pings.c.kind == "success",
                    pings.c.at > since,
                    pings.c.at <= until,
                )
                .order_by(pings.c.name, pings.c.at)
            )
            for name, at in conn.execute(query):
                out.setdefault(name, []).append(at)
    return out


def _by(as_of: datetime | None, at: sa.ColumnElement[Any] = pings.c.at) -> sa.ColumnElement[bool]:
    """Pings at or before `as_of` (all of them without it)."""
    return sa.true() if as_of is None else at <= as_of


def _states(
    conn: Connection, names: Sequence[str], as_of: datetime | None
) -> dict[str, HeartbeatState]:
    newest = (
        sa.select(pings.c.name, pings.c.kind, sa.func.max(pings.c.at).label("at"))
        .where(pings.c.name.in_(names), _by(as_of))
        .group_by(pings.c.name, pings.c.kind)
        .subquery()
    )
    query = sa.select(pings).join(
        newest,
        sa.and_(
            pings.c.name == newest.c.name, pings.c.kind == newest.c.kind, pings.c.at == newest.c.at
        ),
    )
    latest: dict[str, dict[str, Ping]] = {}
    for row in conn.execute(query):
        ping = _to_ping(row)
        kinds = latest.setdefault(ping.name, {})
        if ping.kind not in kinds or ping.id > kinds[ping.kind].id:  # same instant: newest id
            kinds[ping.kind] = ping

    failing = [n for n, k in latest.items() if "fail" in k and _newer(k["fail"], k.get("success"))]
    counts = _fails_since_success(conn, failing, as_of) if failing else {}

    out: dict[str, HeartbeatState] = {}
    for name, kinds in latest.items():
        success, start, fail = kinds.get("success"), kinds.get("start"), kinds.get("fail")
        running = start is not None and _newer(start, success) and _newer(start, fail)
        last_fail = fail if name in counts else None
        out[name] = HeartbeatState(
            name=name,
            last_success=success.at if success is not None else None,
            running_since=start.at if running and start is not None else None,
            last_fail=last_fail,
            fails_since_success=counts.get(name, 0),
            last_ping=max(kinds.values(), key=lambda p: (p.at, p.id)),
        )
    return out


def _newer(a: Ping, b: Ping | None) -> bool:
    return b is None or (a.at, a.id) > (b.at, b.id)


def _fails_since_success(
    conn: Connection, names: Sequence[str], as_of: datetime | None
) -> dict[str, int]:
    success = pings.alias("s")
    last_success = (
        sa.select(sa.func.max(success.c.at))
        .where(
            success.c.name == pings.c.name, success.c.kind == "success", _by(as_of, success.c.at)
        )
        .scalar_subquery()
    )
    query = (
        sa.select(pings.c.name, sa.func.count())
        .where(
            pings.c.name.in_(names),
            pings.c.kind == "fail",
            _by(as_of),
            sa.or_(last_success.is_(None), pings.c.at > last_success),
        )
        .group_by(pings.c.name)
    )
    return {name: int(n) for name, n in conn.execute(query)}
