"""Recording transitions in the state store, exactly once.

For each contract the store keeps an `alert_state` row. Advancing it is a compare-and-set
(`UPDATE … WHERE contract = ? AND version = ?`) in the same transaction that inserts the
transition (unique on (contract, seq)): a second worker, a replayed hook or a restart
either sees the new state and records nothing, or loses the race and decides again.

Two callers feed it: the scheduler's after-save hook (the status changes of one save, at
once, for latency) and `reconcile`, which compares every configured contract's saved
status with what the alerts last saw. `reconcile` runs at start and every few seconds, so
a change saved just before a crash (hook never ran) is still recorded after the restart,
repeats fall due on time, muted alerts speak when their silence ends, and contracts
removed from the configuration have their open alert closed (silently, logged).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from monitor.alerts.facts import facts_of
from monitor.alerts.lifecycle import AlertState, Kind, Policy, Transition, close, step
from monitor.alerts.routing import Subject, silenced
from monitor.config.settings import Settings
from monitor.core.models import Contract, HeartbeatSource, Status, Verdict
from monitor.store import Store
from monitor.store.schema import alert_state, contract_state, transitions

log = logging.getLogger("fresh.alerts")

_RETRIES = 5


@dataclass(frozen=True)
class Observation:
    """A contract's current status and the verdict behind it."""

    contract: Contract
    verdict: Verdict


def policy_for(settings: Settings, owner: str) -> Policy:
    """The lifecycle policy of one owner (its `repeat_every` overrides the default)."""
    a = settings.alerts
    declared = settings.owners.get(owner)
    return Policy.of(
        a.notify_on, a.repeat_every, a.send_resolved, declared.repeat_every if declared else None
    )


def subject_of(c: Contract) -> Subject:
    """What routes and silences match on, for one contract."""
    return Subject(c.name, c.owner, c.severity.value, c.tags, c.metadata)


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


def load_states(conn: Connection, names: Iterable[str] | None = None) -> dict[str, AlertState]:
    """Alert states by contract (all of them when `names` is None)."""
    stmt = sa.select(alert_state)
    if names is not None:
        stmt = stmt.where(alert_state.c.contract.in_(list(names)))
    return {s.contract: s for s in (_state_of(r) for r in conn.execute(stmt))}


def _write_state(conn: Connection, old: AlertState | None, new: AlertState) -> bool:
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


def _insert_transition(
    conn: Connection,
    t: Transition,
    contract: Contract | None,
    verdict: Verdict | None,
    owner: str,
    output_tail: str | None,
) -> None:
    facts = None
    if contract is not None:
        facts = facts_of(
            contract,
            verdict,
            kind=t.kind,
            status=t.status,
            previous=t.previous,
            at=t.at,
            reason=t.reason,
            output_tail=output_tail,
        ).to_json()
    conn.execute(
        transitions.insert().values(
            contract=t.contract,
            seq=t.seq,
            from_status=None if t.previous is None else t.previous.value,
            to_status=t.status.value,
            at=t.at,
            kind=t.kind.value,
            episode=t.episode,
            owner=owner,
            facts=facts,
            outcome="closed" if t.kind is Kind.CLOSED else None,
            decided_at=t.at if t.kind is Kind.CLOSED else None,
        )
    )


def advance(
    store: Store,
    settings: Settings,
    observations: Sequence[Observation],
    now: datetime,
    *,
    silences: Sequence[Sequence[tuple[str, str]]] = (),
    output_tails: Mapping[str, str] | None = None,
) -> list[Transition]:
    """Step each observed contract's alert at `now`; record the transitions, once each."""
    if not observations:
        return []
    tails = output_tails or {}
    recorded: list[Transition] = []
    # one lock order for every replica (by name): a hook stepping its save's contracts and
    # another replica's reconcile stepping the same ones must not wait on each other's rows
    ordered = sorted(observations, key=lambda o: o.contract.name)
    with store.write() as conn:
        states = load_states(conn, [o.contract.name for o in ordered])
        for o in ordered:
            name = o.contract.name
            policy = policy_for(settings, o.contract.owner)
            muted_now = silenced(silences, subject_of(o.contract))
            for _ in range(_RETRIES):
                old = states.get(name)
                new, t = step(
                    old or AlertState(name), o.verdict.status, now, policy, silenced=muted_now
                )
                if new == old or (old is None and new == AlertState(name)):
                    break
                if _write_state(conn, old, new):
                    if t is not None:
                        _insert_transition(
                            conn, t, o.contract, o.verdict, o.contract.owner, tails.get(name)
                        )
                        recorded.append(t)
                    break
                states.update(load_states(conn, [name]))  # lost a race: read, decide again
    return recorded


def close_removed(store: Store, configured: set[str], now: datetime) -> list[Transition]:
    """Close, silently, the open alerts of contracts no longer configured."""
    closed: list[Transition] = []
    with store.read() as conn:
        open_names = conn.execute(
            sa.select(alert_state.c.contract).where(alert_state.c.open.is_(True))
        ).scalars()
        gone = [n for n in open_names if n not in configured]
    if not gone:
        return closed
    with store.write() as conn:
        states = load_states(conn, gone)
        for name, old in states.items():
            if name in configured or not old.open:
                continue
            new, t = close(old, now)
            if t is not None and _write_state(conn, old, new):
                owner = conn.execute(
                    sa.select(transitions.c.owner)
                    .where(transitions.c.contract == name)
                    .order_by(transitions.c.seq.desc())
                    .limit(1)
                ).scalar()
                _insert_transition(conn, t, None, None, str(owner or ""), None)
                # its transitions still waiting for their group go nowhere either
                conn.execute(
                    transitions.update()
                    .where(transitions.c.contract == name, transitions.c.outcome.is_(None))
                    .values(outcome="closed", decided_at=now)
                )
                closed.append(t)
                log.info(
                    "contract %s removed from the configuration: its open alert is closed",
                    name,
                    extra={"event": "alert_closed", "contract": name},
                )
    return closed


def output_tails(store: Store, contracts: Iterable[Contract]) -> dict[str, str]:
    """The output tail of each heartbeat contract whose newest ping is a /fail."""
    names = [c.name for c in contracts if isinstance(c.source, HeartbeatSource)]
    if not names:
        return {}
    out = {}
    for name, hb in store.heartbeat_states(names).items():
        if hb.last_fail is not None and hb.last_fail.output:
            out[name] = hb.last_fail.output
    return out


def _candidates(conn: Connection, names: Iterable[str], now: datetime) -> list[str]:
    """Contracts whose alert may need a step: status differs from what the alerts saw, a
    repeat is due, or it is muted (its silence may have ended). One indexed join, so a
    quiet store of 10,000 contracts costs milliseconds per round, not a full replay."""
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


def _verdicts(conn: Connection, names: Sequence[str]) -> dict[str, Verdict]:
    cs = contract_state
    out: dict[str, Verdict] = {}
    for i in range(0, len(names), 500):
        for r in conn.execute(sa.select(cs).where(cs.c.name.in_(names[i : i + 500]))):
            out[r.name] = Verdict(
                contract=r.name,
                status=Status(r.status),
                checked_at=r.checked_at,
                last_update=r.last_update,
                warn_at=r.warn_at,
                error_at=r.error_at,
                description=r.description or "",
                error=r.error,
                detail=r.detail,
                duration_seconds=float(r.duration or 0.0),
            )
    return out


def reconcile(
    store: Store,
    settings: Settings,
    contracts: Mapping[str, Contract],
    now: datetime,
    *,
    silences: Sequence[Sequence[tuple[str, str]]] = (),
) -> list[Transition]:
    """Bring every configured contract's alert up to its saved status (see module doc)."""
    with store.read() as conn:
        names = _candidates(conn, contracts, now)
        verdicts = _verdicts(conn, names) if names else {}
        states = load_states(conn, names) if names else {}
    todo: list[Observation] = []
    for name in names:
        contract, v = contracts[name], verdicts.get(name)
        if v is None:
            continue
        old = states.get(name) or AlertState(name)
        new, _ = step(
            old,
            v.status,
            now,
            policy_for(settings, contract.owner),
            silenced=silenced(silences, subject_of(contract)),
        )
        if new != old:
            todo.append(Observation(contract, v))
    recorded = advance(
        store,
        settings,
        todo,
        now,
        silences=silences,
        output_tails=output_tails(store, [o.contract for o in todo]),
    )
    return recorded + close_removed(store, set(contracts), now)
