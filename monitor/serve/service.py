"""`fresh serve` wired together: project → scheduler → store → metrics / API / alerts.

`Service` owns the pieces and their lifecycle: the current `Project` (swapped whole on a
reload), the state store, the scheduler, the metrics, and the hooks other features plug into:

- `sinks`: every `AlertSink` gets the status changes after each save, and the names of
  contracts removed from the configuration (the alerts close those silently);
- `tasks`: coroutines run beside the scheduler until shutdown (the alerts' outbox sender);
- `metrics.count_notification(owner, result)` counts deliveries.

A feature attaches itself in `attach_features()` (one line each), so this module never
needs to know what an alert is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from monitor import __version__
from monitor.alerts import outbox
from monitor.alerts.maintenance import until_by_contract
from monitor.alerts.sink import attach as attach_alerts
from monitor.config.loader import load_project
from monitor.config.project import Project
from monitor.config.redact import SECRETS, secrets_of
from monitor.core.clock import Clock, SystemClock
from monitor.core.errors import ConfigError, UsageError
from monitor.core.evaluate import evaluate
from monitor.core.models import Contract, Reading, Verdict
from monitor.serve.http.app import build_app, make_server
from monitor.serve.leases import hold_leases, keeper_for
from monitor.serve.metrics import ServiceMetrics
from monitor.serve.reload import load_settled, watch_files
from monitor.serve.scheduler import Scheduler
from monitor.serve.shutdown import exit_after, in_daemon_thread
from monitor.sources import kind_of, read_contracts

if TYPE_CHECKING:
    from monitor.store import StatusChange, Store

log = logging.getLogger("fresh.service")


class AlertSink(Protocol):
    """What reacts to status changes (the alerts). Called on the store thread."""

    def on_changes(self, changes: Sequence[StatusChange], project: Project, now: datetime) -> None:
        """Status changes just saved (each recorded exactly once by the store)."""

    def on_removed(self, names: Sequence[str], project: Project, now: datetime) -> None:
        """Contracts removed from the configuration (their state is forgotten)."""


@dataclass(frozen=True)
class Listen:
    """Where the HTTP server listens."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        """`HOST:PORT` (or `[::1]:PORT`, or `:PORT` for every interface)."""
        host, sep, port = text.strip().rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise UsageError(f"listen address {text!r} must be HOST:PORT, e.g. 127.0.0.1:9184")
        return cls(host.strip("[]") or "0.0.0.0", int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def bind(listen: Listen) -> socket.socket:
    """A listening socket, bound before anything starts (a busy port is exit 2)."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Service:
    """One running `fresh serve`: the current project, store, scheduler and metrics."""

    def __init__(
        self,
        project: Project,
        store: Store,
        *,
        listen: Listen,
        config: Path | None = None,
        checks: Path | None = None,
        cwd: Path | None = None,
        clock: Clock | None = None,
        reader: Callable[[list[Contract], datetime], Mapping[str, Reading]] | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self.listen = listen
        self.config_arg, self.checks_arg = config, checks
        self.cwd = (cwd or Path.cwd()).absolute()
        self.clock = clock or SystemClock()
        self.replica = project.settings.server.replica or f"{socket.gethostname()}:{listen.port}"
        self.sinks: list[AlertSink] = []
        self.tasks: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self.stopping = asyncio.Event()
        # How a reload checks notify URLs (the alerts layer's check; tests may replace it).
        self.notify_check: Callable[[str], str | None] | None = None
        self.config_loaded = True
        self._reload_lock = asyncio.Lock()
        self.metrics = ServiceMetrics(
            self.replica,
            __version__,
            contracts=lambda: self.project.contracts,
            metric_labels=lambda: self.project.settings.metric_labels,
            states=self.verdicts,
            outbox_size=self.outbox_size,
            maintenance=lambda: self.maintenance_until().keys(),
            held=self.held,
            states_of=self.verdicts_of,
        )
        # PostgreSQL: several replicas share the work through leases; SQLite: one checks all
        self.leases = keeper_for(self) if store.is_postgres else None
        self.scheduler = Scheduler(
            project.contracts,
            clock=self.clock,
            read=reader or self._read,
            evaluate=evaluate,
            store=self.leases.fenced_store() if self.leases else store,
            after_save=self._after_save,
            observe=self._observe,
            prune=self._prune,
            batch_key=batch_key,
            claim=self.leases.claim if self.leases else None,
            history=self._history,
        )
        SECRETS.set(secrets_of(project.settings))

    def may_act(self) -> bool:
        """False while this replica's leases have lapsed (store unreachable): it then
        neither checks nor sends. Always True for a single replica on SQLite."""
        return self.leases is None or self.leases.may_act()

    # -- reading state (metrics, API) --

    def verdicts(self) -> dict[str, Verdict]:
        """The latest saved verdict of every contract, by name (from the shared store)."""
        return self.store.verdicts()

    def verdicts_of(self, names: Sequence[str]) -> dict[str, Verdict]:
        """The latest saved verdicts of `names` only (`/metrics?scope=held`)."""
        return self.store.verdicts_of(names)

    def held(self) -> set[str] | None:
        """The contracts this replica holds a lease on; None when it checks them all
        (one replica on SQLite)."""
        return None if self.leases is None else set(self.leases.held())

    def outbox_size(self) -> int:
        """Alerts waiting for delivery in the store's outbox."""
        return outbox.waiting(self.store)

    def maintenance_until(self) -> dict[str, datetime]:
        """Contract name → end of its maintenance window, for those in one now."""
        p = self.project
        return until_by_contract(p.settings.alerts.maintenance, p.contracts, self.clock.now())

    def contract(self, name: str) -> Contract | None:
        """The configured contract called `name`, or None."""
        return self.project.by_name().get(name)

    # -- the scheduler's edges --

    def _read(self, contracts: list[Contract], now: datetime) -> Mapping[str, Reading]:
        readings: Mapping[str, Reading] = read_contracts(
            contracts, self.project.settings, now, store=self.store
        )
        return readings

    def _history(
        self, contracts: list[Contract], readings: Mapping[str, Reading], now: datetime
    ) -> Mapping[str, Sequence[float]]:
        """The learned history of `learn` contracts (SPEC 13), cached in the state store and
        surviving restarts; a failed backfill is logged and retried at the next check."""
        from monitor.sources.learn_history import histories

        found, problems = histories(self.store, contracts, readings, self.project.settings, now)
        for name, why in problems.items():
            log.warning(why, extra={"event": "backfill_failed", "contract": name})
        return found

    def _observe(self, contract: Contract, reading: Reading | None, verdict: Verdict) -> None:
        if reading is not None:
            self.metrics.observe_read(contract.warehouse, reading.duration_seconds)
            if reading.error is not None:
                self.metrics.count_error(contract.name)

    def _after_save(self, changes: list[Any], now: datetime) -> None:
        for change in changes:
            log.info(
                f"{change.contract} is {change.status.value}",
                extra={
                    "event": "status_changed",
                    "contract": change.contract,
                    "previous": change.previous.value if change.previous else None,
                    "status": change.status.value,
                },
            )
        for sink in self.sinks:
            try:
                sink.on_changes(changes, self.project, now)
            except Exception:
                log.exception("alert sink failed", extra={"event": "sink_failed"})

    def _prune(self, now: datetime) -> None:
        retention = self.project.settings.state.retention
        removed = self.store.prune(now - retention)
        # Learned histories are kept for max(window, retention) (SPEC 13).
        from monitor.sources.learn_history import keep_after

        removed += self.store.prune_learned(keep_after(self.project.contracts, retention, now))
        if removed:
            log.info("history pruned", extra={"event": "pruned", "rows": removed})

    # -- configuration --

    def forget_removed(self, now: datetime) -> list[str]:
        """Forget the stored state of contracts no longer configured; tell the sinks."""
        names = self.store.forget({c.name for c in self.project.contracts})
        if names:
            self.metrics.forget(names)
            log.info(
                "contracts removed from the configuration",
                extra={"event": "contracts_removed", "contracts": names},
            )
            for sink in self.sinks:
                try:
                    sink.on_removed(names, self.project, now)
                except Exception:
                    log.exception("alert sink failed", extra={"event": "sink_failed"})
        return names

    async def reload(self, reason: str) -> bool:
        """Load the configuration again; keep the last good one when it is invalid."""
        async with self._reload_lock:
            try:
                # Not asyncio.to_thread: its threads are joined at exit, and SIGTERM must end
                # the service even while a huge configuration is being read. load_settled
                # waits out an imported manifest caught mid-write (SPEC 11).
                project = await in_daemon_thread(
                    load_settled,
                    functools.partial(
                        load_project,
                        self.config_arg,
                        self.checks_arg,
                        None,
                        self.cwd,
                        notify_check=self.notify_check,
                    ),
                )
            except ConfigError as exc:
                self.metrics.reload_successful = False
                log.error(
                    "configuration refused, the last good one keeps running",
                    extra={
                        "event": "reload_refused",
                        "reason": reason,
                        "problems": [str(p) for p in exc.problems],
                    },
                )
                for p in exc.problems:
                    log.error(str(p), extra={"event": "config_problem"})
                return False
            except Exception as exc:  # an unreadable file: same rule
                self.metrics.reload_successful = False
                log.error(
                    "configuration refused, the last good one keeps running",
                    extra={"event": "reload_refused", "reason": reason, "error": str(exc)},
                )
                return False
            self._apply(project, reason)
            return True

    def _apply(self, project: Project, reason: str) -> None:
        old = self.project.settings
        new = project.settings
        for what, before, after in (
            ("server.listen", old.server.listen, new.server.listen),
            ("state.url", old.state.url, new.state.url),
            ("server.replica", old.server.replica, new.server.replica),
        ):
            if before != after:
                log.warning(
                    f"{what} changed: it takes effect after a restart",
                    extra={"event": "restart_needed", "setting": what},
                )
        SECRETS.set(secrets_of(project.settings))
        self.project = project
        self.metrics.reload_successful = True
        self.scheduler.set_contracts(project.contracts)
        log.info(
            "configuration loaded",
            extra={"event": "reloaded", "reason": reason, "contracts": len(project.contracts)},
        )
        for w in project.warnings:
            log.warning(str(w), extra={"event": "config_warning"})
        loop = asyncio.get_running_loop()
        loop.run_in_executor(self.scheduler.store_pool, self.forget_removed, self.clock.now())

    # -- running --

    async def run(self, sock: socket.socket) -> int:
        """Serve until SIGTERM/SIGINT: HTTP, scheduler, reloads, feature tasks.

        Returns the exit code: 0 after a signal, 1 when a part of the service crashed.
        """
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._signal, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self._signal, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload("SIGHUP")))
        attach_features(self)
        if self.leases is not None:
            self.tasks.append(lambda: hold_leases(self))
        await loop.run_in_executor(self.scheduler.store_pool, self.forget_removed, self.clock.now())
        server = make_server(build_app(self), sock)
        http = loop.create_task(server.serve(sockets=[sock]), name="http")
        scheduler = loop.create_task(self.scheduler.run(), name="scheduler")
        watcher = loop.create_task(watch_files(self), name="watch")
        extra = [loop.create_task(make(), name="feature") for make in self.tasks]
        log.info(
            f"serving on http://{self.listen}",
            extra={
                "event": "started",
                "listen": str(self.listen),
                "replica": self.replica,
                "contracts": len(self.project.contracts),
                "pid": os.getpid(),
            },
        )
        stop = loop.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop, http, scheduler], return_when=asyncio.FIRST_COMPLETED)
        code = 0
        for task in done:
            if task is not stop:
                code = 1  # the HTTP server or the scheduler ended without being asked to
                log.error(
                    f"{task.get_name()} stopped: {task.exception()}",
                    extra={"event": "crashed", "task": task.get_name()},
                )
        self.stopping.set()
        # Order matters: finish and save what is being read, then stop answering.
        self.scheduler.stop()
        await asyncio.gather(scheduler, return_exceptions=True)
        server.should_exit = True
        await asyncio.gather(http, return_exceptions=True)
        for task in (watcher, *extra):
            task.cancel()
        await asyncio.gather(watcher, *extra, return_exceptions=True)
        stop.cancel()
        self.scheduler.close()
        log.info("stopped", extra={"event": "stopped", "exit_code": code})
        return code

    def _signal(self, name: str) -> None:
        if not self.stopping.is_set():
            log.info(
                f"{name} received: finishing in-flight checks",
                extra={"event": "stopping", "signal": name},
            )
            exit_after()  # a check or send that never returns must not outlive SIGTERM
        self.stopping.set()


def batch_key(contract: Contract) -> str:
    """Contracts read in one call: SQL kinds per warehouse, other kinds per kind."""
    kind = kind_of(contract)
    return f"warehouse:{contract.warehouse}" if kind.by_warehouse(contract) else kind.key


def attach_features(service: Service) -> None:
    """Let features plug into the service: each one's `attach(service)` adds its sinks and
    tasks (the alerts: a sink for status changes, a task for their threads)."""
    attach_alerts(service)
