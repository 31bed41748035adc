"""Plugs the alerts into `fresh serve` (called by `monitor.serve.service.attach_features`).

The service calls the sink on its store thread after each save (the status changes, each
recorded once by the store's compare-and-set) and when contracts leave the configuration;
the alerts' own threads (lifecycle + delivery) start with the service and stop with it.
Nothing here blocks checking: recording a save's transitions is one short transaction,
and sending happens on the delivery thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from monitor.alerts.sender import notify_url_problem
from monitor.alerts.worker import AM_RESEND_EVERY, Alerting
from monitor.config.project import Project

if TYPE_CHECKING:
    from monitor.core.clock import Clock
    from monitor.store import StatusChange, Store

log = logging.getLogger("fresh.alerts")


class _Metrics(Protocol):
    def count_notification(self, owner: str, result: str) -> None: ...


class _Service(Protocol):
    """The parts of `monitor.serve.service.Service` the alerts use."""

    project: Project
    store: Store
    clock: Clock
    replica: str

    @property
    def metrics(self) -> _Metrics: ...

    sinks: list[Any]
    tasks: list[Callable[[], Coroutine[Any, Any, None]]]
    stopping: asyncio.Event
    notify_check: Callable[[str], str | None] | None


class AlertsSink:
    """The service's `AlertSink`: hands status changes and reloads to `Alerting`."""

    def __init__(self, alerting: Alerting, project: Project) -> None:
        self.alerting = alerting
        self._project = project

    def _follow(self, project: Project) -> None:
        if project is not self._project:  # a reload: new owners, routes, contracts
            self._project = project
            self.alerting.set_project(project.settings, project.contracts)

    def on_changes(self, changes: Sequence[StatusChange], project: Project, now: datetime) -> None:
        """Record the transitions of one save, at once."""
        self._follow(project)
        self.alerting.on_changes(changes, now)

    def on_removed(self, names: Sequence[str], project: Project, now: datetime) -> None:
        """Contracts left the configuration: their open alerts close on the next round."""
        self._follow(project)


def _am_resend_every() -> timedelta:
    # internal, for tests: how often open alerts are re-posted to Alertmanager (default 1 min)
    raw = os.environ.get("FRESH_AM_RESEND_SECONDS", "")
    try:
        return timedelta(seconds=float(raw)) if raw else AM_RESEND_EVERY
    except ValueError:
        return AM_RESEND_EVERY


def attach(service: _Service) -> Alerting:
    """Add the alerts to a service: a sink for status changes and a task for the threads."""
    project = service.project
    alerting = Alerting(
        service.store,
        project.settings,
        project.contracts,
        clock=service.clock,
        worker=service.replica,
        on_result=service.metrics.count_notification,
        project=lambda: service.project,
        am_resend_every=_am_resend_every(),
    )
    # a reload refuses notify URLs no sender can use, as `fresh validate` does
    service.notify_check = notify_url_problem
    # several replicas on PostgreSQL: send only while this replica's leases are live
    alerting.may_send = getattr(service, "may_act", None)
    leases = getattr(service, "leases", None)
    if leases is not None:  # open alerts are re-posted to Alertmanager by their checker
        alerting.checked_here = lambda: set(leases.held())
    service.sinks.append(AlertsSink(alerting, project))

    async def run() -> None:
        alerting.start()
        try:
            await service.stopping.wait()
        finally:
            # the threads finish their round; anything unsent stays in the outbox
            alerting.stop(timeout=5.0)

    service.tasks.append(run)
    return alerting
