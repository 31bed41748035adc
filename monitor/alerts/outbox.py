"""The persistent outbox: flush groups into it, claim, send, mark sent only after success.

- `flush` turns the pending transitions of every owner whose group is due (`group_wait`)
  into outbox rows, one per destination URL, in one transaction that also records each
  transition's outcome (compare-and-set, so two workers never flush the same transition).
  A row names its URL by a hash (`url_id`), never the URL itself: tokens and passwords stay
  in the configuration, not in the state store.
- `claim` takes due rows atomically and stamps `claimed_until = now + 60 s`: a sender that
  dies leaves a claim that expires, and the row is sent again (at-least-once).
- `deliver` sends each claimed row and marks it sent only after the channel accepted it.
  A failure is retried with capped exponential back-off, forever: a channel that is down
  for an hour delays its messages and loses none. A permanent refusal (HTTP 4xx) stops.

The SQL, and the transaction guarantees, are the store's (`monitor/store/outbox.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts.alertmanager import alerts_for, is_alertmanager
from monitor.alerts.alertmanager import message as am_message
from monitor.alerts.facts import AlertFacts
from monitor.alerts.grouping import (
    Pending,
    alertmanager_only,
    am_due,
    am_urls,
    due_owners,
    grouped,
    grouped_urls,
    plan_flush,
)
from monitor.alerts.render import Links, Message, render, style_of
from monitor.alerts.routing import url_id
from monitor.alerts.sender import Sender, SendResult
from monitor.alerts.slackbot import is_slackbot, plan_rows
from monitor.config.settings import Settings
from monitor.core.durations import doubling
from monitor.store import Store
from monitor.store.outbox import FlushTx, Lane, OutboxRow, PendingTransition

log = logging.getLogger("fresh.alerts")

CLAIM_TTL = timedelta(seconds=60)
BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=5)


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox row."""

    id: int
    owner: str
    url_id: str
    message: Message
    attempts: int


def backoff(
    attempts: int, first: timedelta = BACKOFF_FIRST, cap: timedelta = BACKOFF_CAP
) -> timedelta:
    """The wait after `attempts` failed tries: `first`, doubling each time, at most `cap`."""
    return doubling(first, attempts, cap)


# --- flush -------------------------------------------------------------------------------


def _pending(rows: Sequence[PendingTransition]) -> list[Pending]:
    return [
        Pending(
            r.id,
            r.contract,
            r.seq,
            r.episode,
            AlertFacts.from_json(r.facts),
            am_decided=r.am_outcome is not None,
        )
        for r in rows
    ]


def next_flush_at(store: Store, group_wait: timedelta) -> datetime | None:
    """When the oldest waiting transition's group falls due, or None with none waiting."""
    oldest = store.oldest_pending_at()
    return None if oldest is None else oldest + group_wait


def flush(
    store: Store,
    settings: Settings,
    now: datetime,
    *,
    silences: Sequence[Sequence[tuple[str, str]]] = (),
    scrub: Callable[[str], str] = lambda s: s,
) -> int:
    """Turn what is due into outbox rows; returns how many rows were added.

    Alertmanager destinations first, at once (their lane: `am_due`), then the groups whose
    `group_wait` is over, for the other destinations (see monitor/alerts/grouping.py)."""
    waiting_now = _pending(store.pending_transitions())
    lanes: list[tuple[str, Lane]] = [
        (owner, "am")
        for owner in sorted({p.facts.owner for p in waiting_now if am_due(settings, p)})
    ]
    waits = [p for p in waiting_now if grouped(settings, p)]
    lanes += [(o, "grouped") for o in due_owners(waits, now, settings.alerts.group_wait)]
    links = Links(settings.server.public_url, settings.server.dashboard_url)
    added = 0
    for owner, lane in lanes:
        try:
            added += _flush_owner(store, settings, owner, now, links, silences, scrub, lane)
        except _LostRace:
            log.info("another worker flushed the alerts of %s first", owner)
    return added


def _flush_owner(
    store: Store,
    settings: Settings,
    owner: str,
    now: datetime,
    links: Links,
    silences: Sequence[Sequence[tuple[str, str]]],
    scrub: Callable[[str], str],
    lane: Lane,
) -> int:
    added = 0
    am = lane == "am"
    with store.flushing() as tx:
        pending = [
            p
            for p in _pending(tx.pending(owner))
            # the grouped lane leaves a transition whose Alertmanager part is undecided (it
            # arrived since this flush's first lane ran) to the next round's first lane
            if (am_due(settings, p) if am else grouped(settings, p) and not am_due(settings, p))
        ]
        if not pending:
            return 0
        only_am = {p.id for p in pending if am and alertmanager_only(settings, p.subject)}
        contracts = sorted({p.contract for p in pending})
        plan = plan_flush(
            owner,
            pending,
            settings=settings,
            announced=tx.announced(contracts, "am" if am else "grouped"),
            silences=silences,
            urls=(lambda p: am_urls(settings, p)) if am else (lambda p: grouped_urls(settings, p)),
        )
        for outcome in set(plan.outcomes.values()):
            ids = [i for i, o in plan.outcomes.items() if o == outcome]
            # a contract bound for Alertmanagers alone is decided once, for both lanes
            both = [i for i in ids if i in only_am]
            rest = [i for i in ids if i not in only_am]
            if not (tx.decide(both, outcome, now, "both") and tx.decide(rest, outcome, now, lane)):
                raise _LostRace()  # another worker flushed them first: leaving rolls back
        for contract, episode in plan.muted:
            tx.mute(contract, episode)
        episodes = {p.contract: p.episode for p in pending}
        for url, (facts, ids) in plan.messages.items():
            if is_slackbot(url):
                # one message per incident: posts and edits, in order, behind each other
                rows = plan_rows(
                    tx.conn,
                    url_id(url),
                    owner,
                    facts,
                    episodes,
                    now,
                    send_resolved=settings.alerts.send_resolved,
                )
                for msg in rows:
                    _queue(tx, ids, owner, url, msg, now)
                    added += 1
                continue
            if is_alertmanager(url):
                # one alert per contract; a plain repeat is none (Alertmanager repeats)
                found = alerts_for(
                    facts, metric_labels=settings.metric_labels, links=links, now=now, scrub=scrub
                )
                if not found:
                    continue
                msg = am_message(found)
            else:
                msg = render(facts, style_of(url), owner=owner, links=links, now=now, scrub=scrub)
            _queue(tx, ids, owner, url, msg, now)
            added += 1
    return added


def _queue(tx: FlushTx, ids: list[int], owner: str, url: str, msg: Message, now: datetime) -> None:
    tx.queue(ids, owner, url_id(url), _payload(msg), now)


class _LostRace(Exception):
    pass


def _payload(m: Message) -> dict[str, str]:
    return {
        "title": m.title,
        "body": m.body,
        "body_format": m.body_format,
        "notify_type": m.notify_type,
    }


def _message(p: Mapping[str, Any]) -> Message:
    return Message(p["title"], p["body"], p["body_format"], p["notify_type"])


# --- claim and deliver --------------------------------------------------------------------


def _delivery(r: OutboxRow) -> Delivery:
    return Delivery(r.id, r.owner, r.url_id, _message(r.payload), r.attempts)


def claim(
    store: Store, worker: str, now: datetime, *, limit: int = 20, ttl: timedelta = CLAIM_TTL
) -> list[Delivery]:
    """Claim up to `limit` due rows for `worker` until `now + ttl`."""
    return [_delivery(r) for r in store.claim_deliveries(worker, now, limit, ttl)]


def still_claimed(store: Store, d: Delivery, worker: str, now: datetime) -> bool:
    """True while `worker`'s claim on `d` stands (unsent, unexpired): the fencing check
    right before a send. Raises StoreError when the store does not answer."""
    return store.still_claimed(d.id, worker, now)


def release(store: Store, worker: str) -> int:
    """Drop the unfinished claims `worker` held in a previous life (a restart)."""
    return store.release_claims(worker)


def mark(
    store: Store,
    d: Delivery,
    result: SendResult,
    now: datetime,
    *,
    first: timedelta = BACKOFF_FIRST,
    cap: timedelta = BACKOFF_CAP,
) -> str:
    """Record how a send went: `sent`, `retry` or `failed` (permanently)."""
    if result.ok:
        store.mark_sent(d.id, now)
        return "sent"
    retry_at = None if result.permanent else now + backoff(d.attempts, first, cap)
    store.mark_failed(d.id, result.error, retry_at=retry_at)
    return "failed" if result.permanent else "retry"


def deliver(
    store: Store,
    sender: Sender,
    urls: Mapping[str, str],
    worker: str,
    clock_now: Callable[[], datetime],
    *,
    on_result: Callable[[str, str], None] | None = None,
    first: timedelta = BACKOFF_FIRST,
    cap: timedelta = BACKOFF_CAP,
    ttl: timedelta = CLAIM_TTL,
    may_send: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Claim what is due, send it, mark it. Returns counts of sent / retry / failed.

    `urls` maps `url_id` to the configured URL. `on_result(owner, result)` is called with
    `sent` or `failed` for each attempt (the `fresh_notifications_total` counter).
    `may_send` is the replica's lease gate (monitor/serve/leases.py): while it says no, nothing
    is claimed or sent. Before each send the claim is read again (`still_claimed`): a
    replica cut off from the store, or whose claim lapsed, sends nothing.
    """
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if may_send is not None and not may_send():
        return counts
    for d in claim(store, worker, clock_now(), ttl=ttl):
        if (may_send is not None and not may_send()) or not still_claimed(
            store, d, worker, clock_now()
        ):
            log.warning(
                "alert for %s not sent: this replica's claim lapsed",
                d.owner,
                extra={"event": "delivery_fenced", "owner": d.owner, "outbox_id": d.id},
            )
            break  # the rest of the batch waits for its claims to expire, then any replica
        url = urls.get(d.url_id)
        if url is None:
            result = SendResult(False, "this notify URL is no longer configured", status=410)
        else:
            result = sender.send(url, d.message)
        outcome = mark(store, d, result, clock_now(), first=first, cap=cap)
        counts[outcome] += 1
        if on_result is not None:
            on_result(d.owner, "sent" if result.ok else "failed")
        if outcome == "failed":
            log.error(
                "alert to %s for %s refused for good: %s",
                "a notify URL",
                d.owner,
                result.error,
                extra={"event": "delivery_failed", "owner": d.owner, "outbox_id": d.id},
            )
        elif outcome == "retry":
            log.warning(
                "alert for %s not delivered (attempt %d), will retry: %s",
                d.owner,
                d.attempts,
                result.error,
                extra={"event": "delivery_retry", "owner": d.owner, "outbox_id": d.id},
            )
    return counts


def waiting(store: Store) -> int:
    """Messages waiting for delivery (the `fresh_outbox_messages` gauge)."""
    return store.outbox_waiting()


def next_attempt_at(store: Store) -> datetime | None:
    """When the earliest waiting row may be tried (None with nothing waiting)."""
    return store.outbox_next_attempt_at()
