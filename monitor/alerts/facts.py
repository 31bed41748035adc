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

        def ts(d: datetime | None) -> str | None:
            return None if d is None else d.isoformat()

        def secs(d: timedelta | None) -> float | None:
            return None if d is None else d.total_seconds()

        return {
            "contract": self.contract,
            "kind": self.kind.value,
            "status": self.status.value,
            "previous": None if self.previous is None else self.previous.value,
            "at": ts(self.at),
            "owner": self.owner,
            "severity": self.severity,
            "warehouse": self.warehouse,
            "tags": list(self.tags),
            "metadata": dict(self.metadata),
            "description": self.description,
            "last_update": ts(self.last_update),
            "checked_at": ts(self.checked_at),
            "warn_after": secs(self.warn_after),
            "error_after": secs(self.error_after),
            "schedule": self.schedule,
            "timezone": self.timezone,
            "deadline": ts(self.deadline),
            "error": self.error,
            "detail": self.detail,
            "output_tail": self.output_tail,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AlertFacts:
        """The inverse of `to_json`."""

        def ts(v: Any) -> datetime | None:
            return None if v is None else datetime.fromisoformat(v)

        def secs(v: Any) -> timedelta | None:
            return None if v is None else timedelta(seconds=float(v))

        at = ts(d["at"])
        assert at is not None
        return cls(
            contract=d["contract"],
            kind=Kind(d["kind"]),
            status=Status(d["status"]),
            previous=None if d.get("previous") is None else Status(d["previous"]),
            at=at,
            owner=d["owner"],
            severity=d["severity"],
            warehouse=d["warehouse"],
            tags=tuple(d.get("tags") or ()),
            metadata=dict(d.get("metadata") or {}),
            description=d.get("description") or "",
            last_update=ts(d.get("last_update")),
            checked_at=ts(d.get("checked_at")),
            warn_after=secs(d.get("warn_after")),
            error_after=secs(d.get("error_after")),
            schedule=d.get("schedule"),
            timezone=d.get("timezone") or "UTC",
            deadline=ts(d.get("deadline")),
            error=d.get("error"),
            detail=d.get("detail"),
            output_tail=d.get("output_tail"),
            reason=d.get("reason") or "",
        )


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
