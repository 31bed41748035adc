"""Contract state and history: saving verdicts with compare-and-set, reading them back.

A status change is recorded by `UPDATE contract_state … WHERE name = :n AND status = :old
AND seq = :seq`: when two writers (replicas, or a restart racing its predecessor) save the
same change, one UPDATE matches and the other re-reads the row and finds nothing to change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Row

from monitor.core.errors import StoreError
from monitor.core.evaluate import next_check_at
from monitor.core.models import DEFAULT_CHECK_EVERY, Contract, Status, Verdict
from monitor.store.core import chunks
from monitor.store.records import HistoryEntry, StatusChange, StoredState
from monitor.store.schema import contract_state, history, leases, pings

if TYPE_CHECKING:
    from monitor.store.core import Database

_RETRIES = 5


def keeps_reading(last_kept: datetime | None, checked_at: datetime, every: timedelta) -> bool:
    """History rule: keep at most one reading per `check_every` (status changes always).

    A twentieth of the interval is forgiven, so polls that drift a little early (read
    durations vary) still keep one reading per interval instead of one per two.
    """
    if last_kept is None:
        return True
    return checked_at - last_kept >= every - every / 20


#: given the saving transaction and the contracts about to be saved, those it may write
Fence = Callable[[Connection, Sequence[str]], set[str]]


def save_verdicts(
    store: Database,
    verdicts: Sequence[Verdict],
    contracts: Mapping[str, Contract],
    now: datetime,
    fence: Fence | None = None,
) -> list[StatusChange]:
    """Save verdicts in one transaction; see `Store.save_verdicts`."""
    changes: list[StatusChange] = []
    if not verdicts:
        return changes
    # Rows are written in name order, so two replicas saving overlapping batches take their
    # row locks in the same order and never deadlock on PostgreSQL.
    ordered = sorted(verdicts, key=lambda v: v.contract)
    kept: list[dict[str, Any]] = []
    with store.write() as conn:
        if fence is not None:  # replicas: only contracts whose lease is still ours
            allowed = fence(conn, [v.contract for v in ordered])
            ordered = [v for v in ordered if v.contract in allowed]
        rows = _rows(conn, [v.contract for v in ordered])
        for verdict in ordered:
            contract = contracts.get(verdict.contract)
            every = contract.check_every if contract is not None else DEFAULT_CHECK_EVERY
            for _ in range(_RETRIES):
                row = rows.get(verdict.contract)
                done, change = _save_one(store, conn, row, verdict, every, now, kept)
                if done:
                    break
                # Someone else wrote this contract since we read it: read again, decide again.
                rows.update(_rows(conn, [verdict.contract]))
            else:
                raise StoreError(f"contract {verdict.contract!r} kept changing under us")
            if change is not None:
                changes.append(change)
        if kept:
            conn.execute(history.insert(), kept)
    return changes


# Statements are built once with bind parameters: building one per row costs more than
# running it (SQLAlchemy's statement construction and cache-key work dominate).
_STATE_COLUMNS = (
    "status",
    "last_update",
    "warn_at",
    "error_at",
    "checked_at",
    "error",
    "detail",
    "description",
    "duration",
    "next_check_at",
    "status_since",
    "seq",
    "history_at",
    "learned_warn",
    "learned_error",
)
_CAS_UPDATE = (
    contract_state.update()
    .where(
        contract_state.c.name == sa.bindparam("p_name"),
        contract_state.c.status == sa.bindparam("p_old_status"),
        contract_state.c.seq == sa.bindparam("p_old_seq"),
    )
    .values({c: sa.bindparam(f"p_{c}") for c in _STATE_COLUMNS})
)
_FIRST_INSERTS: dict[str, Any] = {}


def _first_insert(store: Database) -> Any:
    stmt = _FIRST_INSERTS.get(store.dialect)
    if stmt is None:
        stmt = (
            store.insert(contract_state)
            .values({c: sa.bindparam(f"p_{c}") for c in ("name", *_STATE_COLUMNS)})
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(contract_state.c.name)  # rowcount is not reliable here on psycopg
        )
        _FIRST_INSERTS[store.dialect] = stmt
    return stmt


def _save_one(
    store: Database,
    conn: Connection,
    row: Row[Any] | None,
    verdict: Verdict,
    every: timedelta,
    now: datetime,
    kept: list[dict[str, Any]],
) -> tuple[bool, StatusChange | None]:
    """Try to save one verdict; (False, None) means "lost a race, read again".

    History rows to keep are appended to `kept` (inserted in one statement at the end).
    """
    params: dict[str, Any] = {
        "p_name": verdict.contract,
        "p_status": verdict.status.value,
        "p_last_update": verdict.last_update,
        "p_warn_at": verdict.warn_at,
        "p_error_at": verdict.error_at,
        "p_checked_at": verdict.checked_at,
        "p_error": verdict.error,
        "p_detail": verdict.detail,
        "p_description": verdict.description,
        "p_duration": verdict.duration_seconds,
        "p_next_check_at": next_check_at(verdict, every, now),
        "p_learned_warn": _secs(verdict.learned_warn_after),
        "p_learned_error": _secs(verdict.learned_error_after),
    }
    if row is None:
        params.update(p_status_since=verdict.checked_at, p_seq=1, p_history_at=verdict.checked_at)
        if conn.execute(_first_insert(store), params).first() is None:
            return False, None
        kept.append(_history_row(verdict))
        return True, StatusChange(
            verdict.contract, None, verdict.status, verdict.checked_at, 1, verdict
        )

    if row.checked_at > verdict.checked_at:
        return True, None  # an older reading arrived late: the newer one stands
    changed = row.status != verdict.status.value
    keep = changed or keeps_reading(row.history_at, verdict.checked_at, every)
    seq = row.seq + 1 if changed else row.seq
    params.update(
        p_old_status=row.status,
        p_old_seq=row.seq,
        p_seq=seq,
        p_status_since=verdict.checked_at if changed else row.status_since,
        p_history_at=verdict.checked_at if keep else row.history_at,
    )
    if conn.execute(_CAS_UPDATE, params).rowcount != 1:
        return False, None
    if keep:
        kept.append(_history_row(verdict))
    if not changed:
        return True, None
    return True, StatusChange(
        verdict.contract, Status(row.status), verdict.status, verdict.checked_at, seq, verdict
    )


def _history_row(verdict: Verdict) -> dict[str, Any]:
    return {
        "name": verdict.contract,
        "checked_at": verdict.checked_at,
        "status": verdict.status.value,
        "last_update": verdict.last_update,
        "error": verdict.error,
        "detail": verdict.detail,
    }


def _rows(conn: Connection, names: Sequence[str]) -> dict[str, Row[Any]]:
    out: dict[str, Row[Any]] = {}
    for part in chunks(list(dict.fromkeys(names))):
        query = sa.select(contract_state).where(contract_state.c.name.in_(part))
        out.update({r.name: r for r in conn.execute(query)})
    return out


def _to_state(row: Row[Any]) -> StoredState:
    return StoredState(
        name=row.name,
        status=Status(row.status),
        checked_at=row.checked_at,
        last_update=row.last_update,
        warn_at=row.warn_at,
        error_at=row.error_at,
        description=row.description or "",
        error=row.error,
        detail=row.detail,
        duration_seconds=float(row.duration or 0.0),
        next_check_at=row.next_check_at,
        status_since=row.status_since,
        seq=int(row.seq),
        learned_warn_after=_delta(row.learned_warn),
        learned_error_after=_delta(row.learned_error),
    )


def _secs(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _delta(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def all_states(store: Database) -> dict[str, StoredState]:
    """Every contract's saved state, by name."""
    with store.read() as conn:
        return {r.name: _to_state(r) for r in conn.execute(sa.select(contract_state))}


def some_states(store: Database, names: Sequence[str]) -> dict[str, StoredState]:
    """The saved states of `names` (those never saved are absent), by name.

    On PostgreSQL one `= ANY(array)` statement, whatever the count (a replica's share of
    100,000 contracts would be 70 `IN` batches); elsewhere batches of `IN`."""
    if not names:
        return {}
    with store.read() as conn:
        if store.is_postgres:
            wanted = sa.bindparam("names", list(names), type_=ARRAY(sa.Text()))
            rows = conn.execute(
                sa.select(contract_state).where(contract_state.c.name == sa.any_(wanted))
            )
            return {r.name: _to_state(r) for r in rows}
        return {n: _to_state(r) for n, r in _rows(conn, names).items()}


# What a Verdict holds, in its field order: /metrics and the API read these for every
# contract, so they skip StoredState (100,000 rows: ~1.4 s less per read).
_VERDICT_COLUMNS = [
    contract_state.c[n]
    for n in (
        "name", "status", "checked_at", "last_update", "warn_at", "error_at", "description",
        "error", "detail", "duration", "learned_warn", "learned_error",
    )
]  # fmt: skip
_STATUS = {s.value: s for s in Status}


def _to_verdict(row: Sequence[Any]) -> Verdict:
    """`_to_state(row).to_verdict()`, without the state in between."""
    name, status, checked, update, warn, error, description, err, detail, took, lw, le = row
    return Verdict(
        name,
        _STATUS[status],
        checked,
        update,
        warn,
        error,
        description or "",
        err,
        detail,
        float(took or 0.0),
        None if lw is None else timedelta(seconds=lw),
        None if le is None else timedelta(seconds=le),
    )


def all_verdicts(store: Database) -> dict[str, Verdict]:
    """Every contract's last saved verdict, by name."""
    with store.read() as conn:
        return {r[0]: _to_verdict(r) for r in conn.execute(sa.select(*_VERDICT_COLUMNS))}


def some_verdicts(store: Database, names: Sequence[str]) -> dict[str, Verdict]:
    """The last saved verdicts of `names` (those never saved are absent), by name."""
    if not names:
        return {}
    query = sa.select(*_VERDICT_COLUMNS)
    with store.read() as conn:
        if store.is_postgres:
            wanted = sa.bindparam("names", list(names), type_=ARRAY(sa.Text()))
            rows = conn.execute(query.where(contract_state.c.name == sa.any_(wanted)))
            return {r[0]: _to_verdict(r) for r in rows}
        out: dict[str, Verdict] = {}
        for part in chunks(list(dict.fromkeys(names))):
            rows = conn.execute(query.where(contract_state.c.name.in_(part)))
            out.update({r[0]: _to_verdict(r) for r in rows})
        return out


def read_states(conn: Connection, names: Sequence[str]) -> dict[str, StoredState]:
    """The saved states of the named contracts, in the caller's transaction."""
    return {name: _to_state(row) for name, row in _rows(conn, names).items()}


def one_state(store: Database, name: str) -> StoredState | None:
    """One contract's saved state, or None when it was never saved."""
    with store.read() as conn:
        row = conn.execute(sa.select(contract_state).where(contract_state.c.name == name)).first()
    return _to_state(row) if row is not None else None


def read_history(store: Database, name: str, limit: int = 50) -> list[HistoryEntry]:
    """Kept readings of one contract, newest first."""
    query = (
        sa.select(history)
        .where(history.c.name == name)
        .order_by(history.c.checked_at.desc(), history.c.id.desc())
        .limit(limit)
    )
    with store.read() as conn:
        return [
            HistoryEntry(
                name=r.name,
                checked_at=r.checked_at,
                status=Status(r.status),
                last_update=r.last_update,
                error=r.error,
                detail=r.detail,
            )
            for r in conn.execute(query)
        ]


def prune(store: Database, older_than: datetime) -> int:
    """Delete history, pings and OpenLineage events older than `older_than`; keep the newest
    ping of each kind per contract and each job's newest COMPLETE (a weekly job's last
    success must outlive a shorter retention)."""
    newest = sa.select(sa.func.max(pings.c.id)).group_by(pings.c.name, pings.c.kind)
    with store.write() as conn:
        gone = conn.execute(history.delete().where(history.c.checked_at < older_than)).rowcount
        gone += conn.execute(
            pings.delete().where(pings.c.at < older_than, pings.c.id.not_in(newest))
        ).rowcount
        from monitor.store import lineage

        gone += lineage.prune(conn, older_than)  # keeps each job's newest COMPLETE and after
    return int(gone)


def forget(store: Database, keep: set[str]) -> list[str]:
    """Drop the saved state (and lease) of contracts no longer configured; history and pings
    stay until pruned, so a contract that comes back keeps its past."""
    with store.write() as conn:
        names = [n for n in conn.execute(sa.select(contract_state.c.name)).scalars()]
        gone = sorted(n for n in names if n not in keep)
        for part in chunks(gone):
            conn.execute(contract_state.delete().where(contract_state.c.name.in_(part)))
            conn.execute(leases.delete().where(leases.c.contract.in_(part)))
    return gone
