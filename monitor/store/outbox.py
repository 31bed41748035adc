"""The alert outbox and the transitions waiting for it: the SQL behind `Store`'s alert methods.

The rules (grouping, silences, what a message says) live in `monitor.alerts`; this module
only stores and fetches, with the guarantees those rules rely on:

- a flush runs in one write transaction (`FlushTx`): the pending transitions of an owner are
  read under `FOR UPDATE` on PostgreSQL, and each decision is a compare-and-set on
  `outcome IS NULL` (and `am_outcome IS NULL` for the Alertmanager lane), so two workers
  never flush the same transition twice (`decide` says False when another got there
  first, and the caller rolls back);
- an outbox row is claimed with an expiry (`claimed_until`) under `FOR UPDATE SKIP LOCKED`,
  and marked sent only after its send, so a sender that dies leaves a row that is sent
  again (at-least-once);
- a row names its URL by a hash (`url_id`), never the URL itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.core.models import Status
from monitor.store.core import chunks
from monitor.store.schema import alert_state, outbox, transitions

if TYPE_CHECKING:
    from monitor.store.core import Database

SENT = "sent"  # the outcome of a transition that went into the outbox
RESOLVED = "resolved"  # the kind of a transition that ends its alert

#: which decision a flush takes: `grouped` sets `outcome` (the destinations that wait for
#: group_wait), `am` sets `am_outcome` (Alertmanager destinations, at once), `both` sets both
#: (a transition whose every destination is an Alertmanager)
Lane = Literal["grouped", "am", "both"]


@dataclass(frozen=True)
class PendingTransition:
    """A recorded transition no flush has decided on yet (`facts`: its JSON)."""

    id: int
    contract: str
    seq: int
    episode: int
    at: datetime
    facts: dict[str, Any]
    am_outcome: str | None = None  # decided for its Alertmanager destinations already


@dataclass(frozen=True)
class OutboxRow:
    """One claimed outbox row (`payload`: the message as stored)."""

    id: int
    owner: str
    url_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class EpisodeTransition:
    """A transition of an open alert's current episode, for the Alertmanager re-sends.
    `delivered`: an outbox row holding it reached one of the asked URLs."""

    id: int
    kind: str
    at: datetime
    outcome: str | None
    facts: dict[str, Any]
    delivered: bool


@dataclass(frozen=True)
class OpenEpisode:
    """An open alert and its current episode's transitions, oldest first; `muted`: its
    newest transition was held by a silence."""

    contract: str
    status: Status
    transitions: tuple[EpisodeTransition, ...]
    muted: bool = False


# --- flushing ----------------------------------------------------------------------------


def _pending_query(owner: str | None) -> sa.Select[Any]:
    t = transitions.c
    stmt = sa.select(t.id, t.contract, t.seq, t.episode, t.at, t.facts, t.am_outcome).where(
        t.outcome.is_(None), t.facts.is_not(None)
    )
    if owner is not None:
        stmt = stmt.where(t.owner == owner)
    return stmt.order_by(t.id)


def _pending_rows(conn: Connection, stmt: sa.Select[Any]) -> list[PendingTransition]:
    return [
        PendingTransition(r.id, r.contract, r.seq, r.episode, r.at, r.facts, r.am_outcome)
        for r in conn.execute(stmt)
    ]


def pending(store: Database) -> list[PendingTransition]:
    """Every transition waiting for a flush (a snapshot, no locks)."""
    with store.read() as conn:
        return _pending_rows(conn, _pending_query(None))


def oldest_pending_at(store: Database) -> datetime | None:
    """When the oldest transition still waiting for a flush happened (None: none waits)."""
    with store.read() as conn:
        oldest = conn.execute(
            sa.select(sa.func.min(transitions.c.at)).where(transitions.c.outcome.is_(None))
        ).scalar()
    return oldest


class FlushTx:
    """One flush's write transaction (see `Store.flushing`)."""

    def __init__(self, store: Database, conn: Connection) -> None:
        self._store = store
        self.conn = conn  # for a channel that keeps its own rows in the same transaction

    def pending(self, owner: str) -> list[PendingTransition]:
        """`owner`'s waiting transitions; waits for a concurrent flush of them, then sees
        only what it left pending."""
        return _pending_rows(self.conn, self._store.for_update(_pending_query(owner)))

    def announced(self, contracts: Sequence[str], lane: Lane = "grouped") -> set[tuple[str, int]]:
        """The (contract, episode) pairs whose alert an earlier flush sent, to the
        Alertmanager destinations (`am`) or to the others."""
        t = transitions.c
        column = t.am_outcome if lane == "am" else t.outcome
        out: set[tuple[str, int]] = set()
        for chunk in chunks(sorted(set(contracts))):
            rows = self.conn.execute(
                sa.select(t.contract, t.episode)
                .where(t.contract.in_(list(chunk)), column == SENT, t.kind != RESOLVED)
                .distinct()
            )
            out.update((r.contract, int(r.episode)) for r in rows)
        return out

    def decide(
        self, ids: Sequence[int], outcome: str, now: datetime, lane: Lane = "grouped"
    ) -> bool:
        """Record `outcome` for transitions `ids` in `lane`; False when another flush decided
        one of them first (the caller then gives up the whole transaction)."""
        if not ids:
            return True
        t = transitions.c
        where = [t.id.in_(list(ids)), t.outcome.is_(None)]
        values: dict[str, Any] = {}
        if lane != "grouped":
            where.append(t.am_outcome.is_(None))
            values["am_outcome"] = outcome
        if lane != "am":
            values.update(outcome=outcome, decided_at=now, silenced=outcome == "silenced")
        done = self.conn.execute(transitions.update().where(*where).values(**values)).rowcount
        return bool(done == len(ids))

    def mute(self, contract: str, episode: int) -> None:
        """Mark the open alert of `contract`'s `episode` muted (a silence holds it)."""
        a = alert_state.c
        self.conn.execute(
            alert_state.update()
            .where(a.contract == contract, a.episode == episode, a.open.is_(True))
            .values(muted=True, version=a.version + 1)
        )

    def queue(
        self,
        ids: Sequence[int],
        owner: str,
        url_id: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> None:
        """Add one outbox row, due at once."""
        self.conn.execute(
            outbox.insert().values(
                transition_ids=list(ids),
                group_key=owner,
                owner=owner,
                url_id=url_id,
                payload=payload,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )


@contextmanager
def flushing(store: Database) -> Iterator[FlushTx]:
    """A flush's transaction: committed when the block ends, rolled back if it raises."""
    with store.write() as conn:
        yield FlushTx(store, conn)


# --- claiming and delivering -------------------------------------------------------------


def _due(now: datetime) -> list[Any]:
    o = outbox.c
    return [
        o.sent_at.is_(None),
        o.failed_permanently.is_(False),
        o.next_attempt_at <= now,
        sa.or_(o.claimed_until.is_(None), o.claimed_until <= now),
    ]


def claim(
    store: Database, worker: str, now: datetime, limit: int, ttl: timedelta
) -> list[OutboxRow]:
    """Claim up to `limit` due rows for `worker` until `now + ttl`, oldest first."""
    o = outbox.c
    with store.write() as conn:
        ids = list(
            conn.execute(
                store.skip_locked(sa.select(o.id).where(*_due(now)).order_by(o.id).limit(limit))
            ).scalars()
        )
        if not ids:
            return []
        conn.execute(
            outbox.update()
            .where(o.id.in_(ids), *_due(now))
            .values(claimed_until=now + ttl, claimed_by=worker, attempts=o.attempts + 1)
        )
        rows = conn.execute(
            sa.select(outbox)
            .where(o.id.in_(ids), o.claimed_by == worker, o.claimed_until == now + ttl)
            .order_by(o.id)
        ).all()
    return [OutboxRow(r.id, r.owner, r.url_id, r.payload, int(r.attempts)) for r in rows]


def still_claimed(store: Database, row_id: int, worker: str, now: datetime) -> bool:
    """True while `worker`'s claim on the row stands (unsent, unexpired)."""
    o = outbox.c
    with store.read() as conn:
        found = conn.execute(
            sa.select(o.id).where(
                o.id == row_id, o.claimed_by == worker, o.claimed_until > now, o.sent_at.is_(None)
            )
        ).first()
    return found is not None


def release(store: Database, worker: str) -> int:
    """Drop the unfinished claims `worker` held; returns how many."""
    o = outbox.c
    with store.write() as conn:
        return int(
            conn.execute(
                outbox.update()
                .where(o.claimed_by == worker, o.sent_at.is_(None))
                .values(claimed_until=None)
            ).rowcount
        )


def mark_sent(store: Database, row_id: int, now: datetime) -> None:
    """The row's channel accepted it."""
    o = outbox.c
    with store.write() as conn:
        conn.execute(
            outbox.update()
            .where(o.id == row_id, o.sent_at.is_(None))
            .values(sent_at=now, claimed_until=None, last_error=None)
        )


def mark_failed(
    store: Database, row_id: int, error: str | None, *, retry_at: datetime | None
) -> None:
    """The send failed: try again at `retry_at`, or never (None: refused for good)."""
    values: dict[str, Any] = {"claimed_until": None, "last_error": error}
    if retry_at is None:
        values["failed_permanently"] = True
    else:
        values["next_attempt_at"] = retry_at
    with store.write() as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.id == row_id, outbox.c.sent_at.is_(None))
            .values(**values)
        )


def _waiting() -> list[Any]:
    return [outbox.c.sent_at.is_(None), outbox.c.failed_permanently.is_(False)]


def waiting(store: Database) -> int:
    """Rows waiting for delivery."""
    with store.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(*_waiting()))
        return int(n.scalar() or 0)


def next_attempt_at(store: Database) -> datetime | None:
    """When the earliest waiting row may be tried (None with nothing waiting)."""
    o = outbox.c
    with store.read() as conn:
        v = conn.execute(
            sa.select(sa.func.min(sa.func.coalesce(o.claimed_until, o.next_attempt_at))).where(
                *_waiting()
            )
        ).scalar()
    return v


# --- open alerts (the Alertmanager re-sends) ------------------------------------------------


def _delivered(conn: Connection, url_ids: set[str], since: datetime) -> set[int]:
    """Ids of the transitions in outbox rows delivered to `url_ids` since `since`."""
    o = outbox.c
    rows = conn.execute(
        sa.select(o.transition_ids).where(
            o.url_id.in_(sorted(url_ids)), o.sent_at.is_not(None), o.created_at >= since
        )
    )
    return {int(i) for r in rows for i in r.transition_ids}


def open_episodes(store: Database, names: Sequence[str], url_ids: set[str]) -> list[OpenEpisode]:
    """The open alerts among `names` with their current episode's transitions
    (those with facts), each marked delivered when an outbox row holding it reached one of
    `url_ids`."""
    a, t = alert_state.c, transitions.c
    out: list[OpenEpisode] = []
    with store.read() as conn:
        for chunk in chunks(sorted(set(names))):
            states = {
                r.contract: (int(r.episode), Status(r.status), bool(r.muted))
                for r in conn.execute(
                    sa.select(a.contract, a.episode, a.status, a.muted).where(
                        a.contract.in_(list(chunk)), a.open.is_(True), a.status.is_not(None)
                    )
                )
            }
            if not states:
                continue
            rows = conn.execute(
                sa.select(t.id, t.contract, t.episode, t.kind, t.at, t.outcome, t.facts)
                .where(t.contract.in_(list(states)), t.facts.is_not(None))
                .order_by(t.contract, t.seq)
            ).all()
            current = [r for r in rows if r.episode == states[r.contract][0]]
            # a transition's outbox rows are created at or after it happened
            since = min((r.at for r in current), default=None)
            delivered = _delivered(conn, url_ids, since) if since and url_ids else set()
            by_contract: dict[str, list[EpisodeTransition]] = defaultdict(list)
            for r in current:
                by_contract[r.contract].append(
                    EpisodeTransition(r.id, r.kind, r.at, r.outcome, r.facts, r.id in delivered)
                )
            for name, items in by_contract.items():
                _, status, muted = states[name]
                out.append(OpenEpisode(name, status, tuple(items), muted))
    return out
