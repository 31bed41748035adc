"""Keeping open alerts active in Alertmanager: re-posted every minute, outside the outbox.

Alertmanager forgets a firing alert at its `endsAt`; Prometheus therefore re-sends active
alerts every evaluation with `endsAt` a few minutes ahead. fresh does the same for each
open alert it has announced, i.e. delivered to an Alertmanager (one still waiting in the
outbox is not re-posted ahead of it; muted ones stay quiet: a silence holds them), from the
replica that checks the contract, to every Alertmanager destination the alert routes to.
A failed re-post is logged and counted, never queued: the next one a minute later carries
the same alert, and the outbox's own messages (fired, changed, resolved) are what must not
be lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.alerts.alertmanager import AlertmanagerSender, alert, is_alertmanager
from monitor.alerts.facts import AlertFacts
from monitor.alerts.grouping import SENT
from monitor.alerts.lifecycle import Kind
from monitor.alerts.render import Links
from monitor.alerts.routing import Subject, all_urls, destinations, url_id
from monitor.config.settings import Settings
from monitor.core.models import Contract, Status
from monitor.store import Store
from monitor.store.schema import alert_state, outbox, transitions

log = logging.getLogger("fresh.alerts")


@dataclass(frozen=True)
class OpenAlert:
    """An announced, unmuted open alert: its newest facts and when its status began."""

    facts: AlertFacts
    status: Status
    started_at: datetime


def _chunks(names: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for i in range(0, len(names), size):
        yield names[i : i + size]


def _delivered(conn: sa.Connection, url_ids: set[str], since: datetime) -> set[int]:
    """Ids of the transitions in outbox rows delivered to `url_ids` since `since`."""
    rows = conn.execute(
        sa.select(outbox.c.transition_ids).where(
            outbox.c.url_id.in_(sorted(url_ids)),
            outbox.c.sent_at.is_not(None),
            outbox.c.created_at >= since,
        )
    )
    return {int(i) for r in rows for i in r.transition_ids}


def open_alerts(
    store: Store, names: Iterable[str], am_url_ids: set[str] | None = None
) -> list[OpenAlert]:
    """The open alerts among `names` that were announced and are not muted; with
    `am_url_ids`, announced means delivered to one of those URLs, not just queued."""
    wanted = sorted(set(names))
    out: list[OpenAlert] = []
    if not wanted:
        return out
    with store.read() as conn:
        for chunk in _chunks(wanted):
            states = {
                r.contract: (int(r.episode), Status(r.status))
                for r in conn.execute(
                    sa.select(alert_state.c.contract, alert_state.c.episode, alert_state.c.status)
                    .where(
                        alert_state.c.contract.in_(list(chunk)),
                        alert_state.c.open.is_(True),
                        alert_state.c.muted.is_(False),
                        alert_state.c.status.is_not(None),
                    )
                )
            }
            if not states:
                continue
            rows = conn.execute(
                sa.select(
                    transitions.c.contract,
                    transitions.c.episode,
                    transitions.c.kind,
                    transitions.c.at,
                    transitions.c.outcome,
                    transitions.c.facts,
                    transitions.c.id,
                    transitions.c.decided_at,
                )
                .where(transitions.c.contract.in_(list(states)), transitions.c.facts.is_not(None))
                .order_by(transitions.c.contract, transitions.c.seq)
            ).all()
            by_contract: dict[str, list[Any]] = defaultdict(list)
            for r in rows:
                if r.episode == states[r.contract][0]:
                    by_contract[r.contract].append(r)
            delivered: set[int] | None = None
            sent = [
                r.decided_at
                for items in by_contract.values()
                for r in items
                if r.outcome == SENT and r.decided_at is not None
            ]
            if am_url_ids is not None:
                delivered = _delivered(conn, am_url_ids, min(sent)) if sent else set()
            for name, items in by_contract.items():
                found = _open_alert(items, states[name][1], delivered)
                if found is not None:
                    out.append(found)
    return out


def _open_alert(
    rows: Sequence[Any], status: Status, delivered: set[int] | None = None
) -> OpenAlert | None:
    announced = any(
        r.outcome == SENT
        and r.kind != Kind.RESOLVED.value
        and (delivered is None or r.id in delivered)
        for r in rows
    )
    began = [r.at for r in rows if r.kind in (Kind.FIRED.value, Kind.CHANGED.value)]
    live = [r for r in rows if r.kind != Kind.RESOLVED.value]
    if not announced or not began or not live:
        return None
    return OpenAlert(AlertFacts.from_json(live[-1].facts), status, max(began))


def refresh(
    store: Store,
    settings: Settings,
    contracts: Mapping[str, Contract],
    now: datetime,
    *,
    sender: AlertmanagerSender,
    checked_here: set[str] | None = None,
    scrub: Callable[[str], str] = lambda s: s,
    on_failure: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Re-post every open alert bound for an Alertmanager; returns alerts posted per
    outcome (`sent`, `failed`). `checked_here` limits it to this replica's contracts."""
    counts = {"sent": 0, "failed": 0}
    if not any(is_alertmanager(u) for u in all_urls(settings).values()):
        return counts  # the common case: one cheap look at the configuration
    names = [
        n
        for n, c in contracts.items()
        if (checked_here is None or n in checked_here) and _goes_to_alertmanager(settings, c)
    ]
    if not names:
        return counts
    links = Links(settings.server.public_url, settings.server.dashboard_url)
    batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    owners: dict[str, set[str]] = defaultdict(set)
    am_ids = {url_id(u) for u in all_urls(settings).values() if is_alertmanager(u)}
    for a in open_alerts(store, names, am_ids):
        c = contracts[a.facts.contract]
        for url in _am_urls(settings, c):
            batches[url].append(
                alert(
                    a.facts,
                    a.status,
                    metric_labels=settings.metric_labels,
                    links=links,
                    now=now,
                    starts_at=a.started_at,
                    scrub=scrub,
                )
            )
            owners[url].add(c.owner)
    for url, alerts in batches.items():
        result = sender.post(url, alerts)
        if result.ok:
            counts["sent"] += len(alerts)
            continue
        counts["failed"] += len(alerts)
        log.warning(
            "re-sending %d open alert(s) to an Alertmanager failed (the next try is in a "
            "minute): %s",
            len(alerts),
            result.error,
            extra={"event": "alertmanager_resend_failed"},
        )
        for owner in sorted(owners[url]):
            if on_failure is not None:
                on_failure(owner)
    return counts


def _subject(c: Contract) -> Subject:
    return Subject(c.name, c.owner, c.severity.value, c.tags, c.metadata)


def _am_urls(settings: Settings, c: Contract) -> list[str]:
    return [u for u in destinations(settings, _subject(c)) if is_alertmanager(u)]


def _goes_to_alertmanager(settings: Settings, c: Contract) -> bool:
    return bool(_am_urls(settings, c))
