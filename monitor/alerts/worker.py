"""The alerts side of `fresh serve`: two threads beside the scheduler, never in its way.

- the *lifecycle* thread records transitions (`record.reconcile`) every few seconds and
  flushes each owner's group when its `group_wait` is over;
- the *delivery* thread claims outbox rows and sends them; a slow or dead channel only
  ever delays this thread, never checking.

The scheduler's after-save hook (`on_changes`) records the transitions of a save at once
and wakes the lifecycle thread, so an alert leaves `group_wait` after the status flipped.
Tests drive `run_once()` with a FakeClock instead of starting the threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from monitor.alerts import am_refresh, maintenance, outbox, record, silences
from monitor.alerts.alertmanager import AlertmanagerSender
from monitor.alerts.channels import ChannelSender
from monitor.alerts.lifecycle import Transition
from monitor.alerts.render import Links
from monitor.alerts.routing import all_urls
from monitor.alerts.sender import Sender
from monitor.alerts.slackbot import SlackBotSender
from monitor.config.project import Project
from monitor.config.redact import scrubber
from monitor.config.settings import Settings
from monitor.core.clock import Clock
from monitor.core.models import Contract
from monitor.store import StatusChange, Store

log = logging.getLogger("fresh.alerts")

RECONCILE_EVERY = timedelta(seconds=5)
AM_RESEND_EVERY = timedelta(minutes=1)  # as Prometheus re-sends active alerts


class Alerting:
    """Lifecycle, grouping and delivery of alerts over one state store."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        contracts: Sequence[Contract],
        *,
        clock: Clock,
        worker: str,
        sender: Sender | None = None,
        on_result: Callable[[str, str], None] | None = None,
        scrub: Callable[[str], str] | None = None,
        backoff_first: timedelta = outbox.BACKOFF_FIRST,
        backoff_cap: timedelta = outbox.BACKOFF_CAP,
        claim_ttl: timedelta = outbox.CLAIM_TTL,
        reconcile_every: timedelta = RECONCILE_EVERY,
        project: Callable[[], Project] | None = None,
        am_sender: AlertmanagerSender | None = None,
        am_resend_every: timedelta = AM_RESEND_EVERY,
    ) -> None:
        self.store = store
        self.clock = clock
        self.worker = worker  # claims are stamped with it (the replica name)
        self._fixed_scrub = scrub
        self._scrub = scrub or scrubber(settings)
        # Alertmanager: open alerts re-posted every `am_resend_every`, outside the outbox,
        # each good for four intervals (1 min / 4 min, as Prometheus does)
        self.am_sender = am_sender or AlertmanagerSender(
            mask=lambda t: self._scrub(t), ahead=4 * am_resend_every
        )
        self.sender: Sender = sender or ChannelSender(
            mask=lambda t: self._scrub(t),
            alertmanager=self.am_sender,
            slackbot=SlackBotSender(
                store,
                lambda: Links(
                    self._settings.server.public_url, self._settings.server.dashboard_url
                ),
                now=clock.now,
                mask=lambda t: self._scrub(t),
            ),
        )
        self._am_every = am_resend_every
        # the contracts this replica checks (leases); None: all of them
        self.checked_here: Callable[[], set[str] | None] = lambda: None
        self._on_result = on_result
        self._first, self._cap, self._ttl = backoff_first, backoff_cap, claim_ttl
        self._reconcile_every = reconcile_every
        self._settings = settings
        self._contracts: dict[str, Contract] = {c.name: c for c in contracts}
        self._urls = all_urls(settings)
        self._wake_lifecycle = threading.Event()
        self._wake_delivery = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_reconcile: datetime | None = None
        self._project_getter = project  # follows reloads of `fresh serve`
        # replicas (monitor/serve/leases.py): no claim or send while this replica's leases lapsed
        self.may_send: Callable[[], bool] | None = None
        self._seen_project = project() if project is not None else None

    # --- configuration --------------------------------------------------------------------

    def set_project(self, settings: Settings, contracts: Sequence[Contract]) -> None:
        """Swap in a reloaded configuration (routes, owners, contracts)."""
        self._settings = settings
        self._contracts = {c.name: c for c in contracts}
        self._urls = all_urls(settings)
        self._scrub = self._fixed_scrub or scrubber(settings)
        self._next_reconcile = None
        self._wake_lifecycle.set()

    # --- the steps (each safe to call from any thread, any number of workers) ----------------

    def _silences(self, now: datetime) -> list[silences.Matchers]:
        # maintenance windows hold notifications exactly as stored silences do
        windows = maintenance.open_windows(self._settings.alerts.maintenance, now)
        return [
            *silences.matcher_lists(silences.active(self.store, now)),
            *maintenance.matcher_lists(windows),
        ]

    def on_changes(self, changes: Sequence[StatusChange], now: datetime) -> None:
        """The scheduler's after-save hook: record these status changes' transitions now."""
        contracts = self._contracts
        obs = [
            record.Observation(contracts[c.contract], c.verdict)
            for c in changes
            if c.contract in contracts
        ]
        if not obs:
            return
        record.advance(
            self.store,
            self._settings,
            obs,
            now,
            silences=self._silences(now),
            output_tails=record.output_tails(self.store, [o.contract for o in obs]),
        )
        self._wake_lifecycle.set()

    def evaluate(self, now: datetime) -> list[Transition]:
        """Reconcile every contract's alert with its saved status (repeats, removals…)."""
        return record.reconcile(
            self.store, self._settings, self._contracts, now, silences=self._silences(now)
        )

    def flush(self, now: datetime) -> int:
        """Turn due groups into outbox rows."""
        added = outbox.flush(
            self.store, self._settings, now, silences=self._silences(now), scrub=self._scrub
        )
        if added:
            self._wake_delivery.set()
        return added

    def deliver(self) -> dict[str, int]:
        """Send what is due in the outbox."""
        return outbox.deliver(
            self.store,
            self.sender,
            self._urls,
            self.worker,
            self.clock.now,
            on_result=self._on_result,
            first=self._first,
            cap=self._cap,
            ttl=self._ttl,
            may_send=self.may_send,
        )

    def refresh_alertmanagers(self, now: datetime) -> dict[str, int]:
        """Re-post this replica's open alerts to their Alertmanagers (`endsAt` ahead)."""
        if self.may_send is not None and not self.may_send():
            return {"sent": 0, "failed": 0}
        on_result = self._on_result
        return am_refresh.refresh(
            self.store,
            self._settings,
            self._contracts,
            now,
            sender=self.am_sender,
            checked_here=self.checked_here(),
            scrub=self._scrub,
            on_failure=None if on_result is None else (lambda owner: on_result(owner, "failed")),
        )

    def run_once(self) -> dict[str, int]:
        """One full round at the clock's now: record, flush, deliver (for tests)."""
        now = self.clock.now()
        self.evaluate(now)
        self.flush(now)
        return self.deliver()

    def waiting(self) -> int:
        """Messages waiting for delivery (`fresh_outbox_messages`)."""
        return outbox.waiting(self.store)

    # --- the threads -----------------------------------------------------------------------

    def start(self) -> None:
        """Release claims this worker held before a restart, then start both threads."""
        released = outbox.release(self.store, self.worker)
        if released:
            log.info("%d alert(s) claimed before a restart will be sent again", released)
        loops = (
            ("lifecycle", self._lifecycle_loop),
            ("delivery", self._delivery),
            ("alertmanager", self._alertmanager_loop),
        )
        for name, target in loops:
            t = threading.Thread(target=target, name=f"fresh-alerts-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop both threads; what is unsent stays in the outbox for the next start."""
        self._stop.set()
        self._wake_lifecycle.set()
        self._wake_delivery.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def _sleep(self, event: threading.Event, until: datetime | None, most: float) -> None:
        wait = most
        if until is not None:
            wait = max(0.0, min(most, (until - self.clock.now()).total_seconds()))
        event.wait(wait)
        event.clear()

    def _follow_reloads(self) -> None:
        if self._project_getter is None:
            return
        current = self._project_getter()
        if current is not self._seen_project:
            self._seen_project = current
            self.set_project(current.settings, current.contracts)

    def _lifecycle_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow_reloads()
                now = self.clock.now()
                if self._next_reconcile is None or now >= self._next_reconcile:
                    self.evaluate(now)
                    self._next_reconcile = now + self._reconcile_every
                self.flush(now)
                due = outbox.next_flush_at(self.store, self._settings.alerts.group_wait)
                nxt = self._next_reconcile if due is None else min(due, self._next_reconcile)
                self._sleep(self._wake_lifecycle, nxt, self._reconcile_every.total_seconds())
            except Exception:
                log.exception("alert lifecycle round failed", extra={"event": "alerts_failed"})
                self._stop.wait(1.0)

    def _alertmanager_loop(self) -> None:
        # its own thread: an Alertmanager that hangs delays only these re-posts
        while not self._stop.wait(self._am_every.total_seconds()):
            try:
                self.refresh_alertmanagers(self.clock.now())
            except Exception:
                log.exception("alertmanager re-send failed", extra={"event": "alerts_failed"})

    def _delivery(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver()
                self._sleep(self._wake_delivery, outbox.next_attempt_at(self.store), 5.0)
            except Exception:
                log.exception("alert delivery round failed", extra={"event": "alerts_failed"})
                self._stop.wait(1.0)

