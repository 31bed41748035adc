"""Keeping open alerts active in Alertmanager: re-posted every minute, outside the outbox.

Alertmanager forgets a firing alert at its `endsAt`; Prometheus therefore re-sends active
alerts every evaluation with `endsAt` a few minutes ahead. fresh does the same for each
open alert it has announced, i.e. delivered to an Alertmanager (one still waiting in the
outbox is not re-posted ahead of it; one that a silence holds since keeps the status it was
announced with: silences hold new alerts only), from the
replica that checks the contract, to every Alertmanager destination the alert routes to.
A failed re-post is logged and counted, never queued: the next one a minute later carries
the same alert, and the outbox's own messages (fired, changed, resolved) are what must not
be lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.alerts.alertmanager import AlertmanagerSender, alert, is_alertmanager
from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.alerts.render import Links
from monitor.alerts.routing import Subject, all_urls, destinations, url_id
from monitor.config.settings import Settings
from monitor.core.models import Contract, Status
from monitor.store import Store
from monitor.store.outbox import OpenEpisode

log = logging.getLogger("fresh.alerts")


@dataclass(frozen=True)
class OpenAlert:
    """An announced, unmuted open alert: its newest facts and when its status began."""

    facts: AlertFacts
    status: Status
    started_at: datetime


def open_alerts(store: Store, names: Iterable[str], am_url_ids: set[str]) -> list[OpenAlert]:
    """The open alerts among `names` that were announced (delivered to one of the
    Alertmanagers `am_url_ids`, not just queued) and are not muted."""
    return [
        found
        for episode in store.open_episodes(sorted(set(names)), am_url_ids)
        if (found := _open_alert(episode)) is not None
    ]


def _open_alert(episode: OpenEpisode) -> OpenAlert | None:
    rows = episode.transitions
    # delivered to an Alertmanager, by the lane that does not wait for group_wait: its
    # `outcome` (the grouped destinations') may still be undecided
    announced = any(r.kind != Kind.RESOLVED.value and r.delivered for r in rows)
    began = [r.at for r in rows if r.kind in (Kind.FIRED.value, Kind.CHANGED.value)]
    live = [r for r in rows if r.kind != Kind.RESOLVED.value]
    if not announced or not began or not live:
        return None
    if not episode.muted:
        return OpenAlert(AlertFacts.from_json(live[-1].facts), episode.status, max(began))
    # held by a silence since it was announced: fresh's silences hold new alerts only (SPEC
    # 15), so Alertmanager keeps the alert it was last told of (a held change is a new one)
    told = [r for r in rows if r.delivered]
    if told[-1].kind == Kind.RESOLVED.value:
        return None
    status = AlertFacts.from_json(told[-1].facts).status
    facts = [f for f in (AlertFacts.from_json(r.facts) for r in live) if f.status is status]
    since = [r.at for r in told if r.kind in (Kind.FIRED.value, Kind.CHANGED.value)]
    return OpenAlert(facts[-1], status, max(since or began))


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
