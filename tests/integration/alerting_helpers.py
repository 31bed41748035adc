"""Shared pieces for the alert integration tests: contracts, verdicts, a driven service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.alerts.sender import Sender
from monitor.alerts.worker import Alerting
from monitor.config.settings import Settings
from monitor.core.clock import FakeClock
from monitor.core.models import (
    Contract,
    Expectation,
    HeartbeatSource,
    Severity,
    Status,
    TableSource,
    Verdict,
)
from monitor.store import Store

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LIMIT = timedelta(hours=1)


def contract(
    name: str,
    owner: str = "ops",
    *,
    severity: Severity = Severity.WARNING,
    tags: tuple[str, ...] = (),
    heartbeat: bool = False,
    **meta: object,
) -> Contract:
    return Contract(
        name=name,
        owner=owner,
        warehouse="main",
        source=HeartbeatSource() if heartbeat else TableSource(name, "loaded_at"),
        expectation=Expectation(warn_after=timedelta(minutes=20), error_after=LIMIT),
        severity=severity,
        tags=tags,
        metadata=meta,
    )


def verdict(
    c: Contract,
    status: Status,
    now: datetime,
    *,
    error: str | None = None,
    detail: str | None = None,
) -> Verdict:
    """A verdict whose data age fits its status (stale: 2h old; fresh: 1 minute old)."""
    age = {
        Status.FRESH: timedelta(minutes=1),
        Status.WARN: timedelta(minutes=30),
        Status.STALE: timedelta(hours=2),
        Status.ERROR: timedelta(hours=2),
    }[status]
    last = now - age
    return Verdict(
        c.name,
        status,
        now,
        last,
        last + timedelta(minutes=20),
        last + LIMIT,
        description=f"{status.value}",
        error=error,
        detail=detail,
    )


@dataclass
class Rig:
    """A store, a fake clock and an Alerting driven by hand (no threads)."""

    store: Store
    settings: Settings
    contracts: list[Contract]
    clock: FakeClock
    alerting: Alerting
    results: list[tuple[str, str]] = field(default_factory=list)

    def save(self, changes: Sequence[tuple[str, Status]], **kw: object) -> None:
        """Save verdicts as the scheduler does and call the after-save hook."""
        by_name = {c.name: c for c in self.contracts}
        now = self.clock.now()
        verdicts = [verdict(by_name[n], s, now, **kw) for n, s in changes]  # type: ignore[arg-type]
        saved = self.store.save_verdicts(verdicts, by_name, now)
        self.alerting.on_changes(saved, now)

    def advance(self, delta: timedelta) -> dict[str, int]:
        self.clock.advance(delta)
        return self.alerting.run_once()


def rig(
    tmp_path: Path,
    settings: Settings,
    contracts: list[Contract],
    sender: Sender,
    *,
    store_url: str | None = None,
    worker: str = "test-1",
    **kw: object,
) -> Rig:
    store = Store.open(store_url or f"sqlite:///{tmp_path / 'state.db'}", tmp_path)
    clock = FakeClock(T0)
    results: list[tuple[str, str]] = []
    alerting = Alerting(
        store,
        settings,
        contracts,
        clock=clock,
        worker=worker,
        sender=sender,
        on_result=lambda o, r: results.append((o, r)),
        scrub=lambda s: s,
        **kw,
    )  # type: ignore[arg-type]
    return Rig(store, settings, contracts, clock, alerting, results)
