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

The rules are here; the SQL of alert states and transitions is in
monitor/store/alert_state.py, run in this module's transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.alerts.facts import facts_of
from monitor.alerts.lifecycle import AlertState, Kind, Policy, Transition, close, step
from monitor.alerts.routing import Subject, silenced
from monitor.config.settings import Settings
from monitor.core.models import Contract, HeartbeatSource, Verdict
from monitor.store import Store
from monitor.store import alert_state as rows
from monitor.store.states import read_states

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

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
    rows.add_transition(
        conn,
        contract=t.contract,
        seq=t.seq,
        episode=t.episode,
        kind=t.kind.value,
        status=t.status,
        previous=t.previous,
        at=t.at,
        owner=owner,
        facts=facts,
        closed=t.kind is Kind.CLOSED,
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
        states = rows.load(conn, [o.contract.name for o in ordered])
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
                if rows.write(conn, old, new):
                    if t is not None:
                        _insert_transition(
                            conn, t, o.contract, o.verdict, o.contract.owner, tails.get(name)
                        )
                        recorded.append(t)
                    break
                states.update(rows.load(conn, [name]))  # lost a race: read, decide again
    return recorded


def close_removed(store: Store, configured: set[str], now: datetime) -> list[Transition]:
    """Close, silently, the open alerts of contracts no longer configured."""
    closed: list[Transition] = []
    with store.read() as conn:
        gone = [n for n in rows.open_contracts(conn) if n not in configured]
    if not gone:
        return closed
    with store.write() as conn:
        states = rows.load(conn, gone)
        for name, old in states.items():
            if name in configured or not old.open:
                continue
            new, t = close(old, now)
            if t is not None and rows.write(conn, old, new):
                _insert_transition(conn, t, None, None, rows.last_owner(conn, name), None)
                # its transitions still waiting for their group go nowhere either
                rows.close_pending(conn, name, now)
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
        names = rows.candidates(conn, contracts, now)
        verdicts = {n: s.to_verdict() for n, s in read_states(conn, names).items()}
        states = rows.load(conn, names) if names else {}
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
