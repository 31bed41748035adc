"""What an alert says about one contract, frozen at the moment of its transition.

A transition's facts are stored beside it (as JSON), so a message rendered after a
restart, a reload or the contract's removal still says what was true when it happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts.lifecycle import Kind
from monitor.core.models import Contract, Status, Verdict
from monitor.core.serial import from_json, to_json


@dataclass(frozen=True)
class AlertFacts:
    """One contract's side of a message: the transition and the verdict behind it."""

    contract: str
    kind: Kind
    status: Status
    previous: Status | None
    at: datetime  # when the transition was recorded
    owner: str
    severity: str
    warehouse: str
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""  # the verdict's one human line
    last_update: datetime | None = None
    checked_at: datetime | None = None
    warn_after: timedelta | None = None
    error_after: timedelta | None = None
    schedule: str | None = None
    timezone: str = "UTC"
    deadline: datetime | None = None  # when it turned (turns) stale
    error: str | None = None
    detail: str | None = None
    output_tail: str | None = None  # a heartbeat's failed run: the end of its output
    reason: str = ""  # e.g. "silence ended"

    @property
    def age(self) -> timedelta | None:
        """How old the data was when checked."""
        if self.last_update is None or self.checked_at is None:
            return None
        return self.checked_at - self.last_update

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (stored with the transition)."""
        return to_json(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AlertFacts:
        """The inverse of `to_json` (rows written by older versions included)."""
        return from_json(cls, d)


def facts_of(
    contract: Contract,
    verdict: Verdict | None,
    *,
    kind: Kind,
    status: Status,
    previous: Status | None,
    at: datetime,
    reason: str = "",
    output_tail: str | None = None,
) -> AlertFacts:
    """Freeze what a message needs from the contract and its latest verdict."""
    exp = contract.expectation
    return AlertFacts(
        contract=contract.name,
        kind=kind,
        status=status,
        previous=previous,
        at=at,
        owner=contract.owner,
        severity=contract.severity.value,
        warehouse=contract.warehouse,
        tags=contract.tags,
        metadata=dict(contract.metadata),
        description=verdict.description if verdict else "",
        last_update=verdict.last_update if verdict else None,
        checked_at=verdict.checked_at if verdict else None,
        warn_after=exp.warn_after,
        error_after=exp.error_after,
        schedule=exp.schedule,
        timezone=exp.timezone,
        deadline=verdict.deadline if verdict else None,
        error=verdict.error if verdict else None,
        detail=verdict.detail if verdict else None,
        output_tail=output_tail,
        reason=reason,
    )
