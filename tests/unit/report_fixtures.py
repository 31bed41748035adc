"""Contracts and verdicts built by hand, for the report tests (no I/O, no evaluate())."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.models import (
    Contract,
    Expectation,
    Location,
    Severity,
    Status,
    TableSource,
    Verdict,
)
from monitor.report.results import Result

NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


def contract(
    name: str,
    *,
    owner: str = "ops-data-team",
    severity: Severity = Severity.WARNING,
    warn: timedelta | None = timedelta(minutes=20),
    error: timedelta | None = timedelta(hours=1),
    tags: tuple[str, ...] = (),
    metadata: dict[str, object] | None = None,
    line: int = 3,
) -> Contract:
    return Contract(
        name=name,
        owner=owner,
        warehouse="main",
        source=TableSource(table=name, column="_loaded_at"),
        expectation=Expectation(warn_after=warn, error_after=error),
        severity=severity,
        tags=tags,
        metadata=metadata or {},
        location=Location("checks/shop.yml", line, 5),
    )


def verdict(
    name: str,
    status: Status,
    *,
    age: timedelta | None = timedelta(minutes=5),
    error: str | None = None,
    detail: str | None = None,
    warn_after: timedelta | None = timedelta(minutes=20),
    error_after: timedelta | None = timedelta(hours=1),
    description: str = "",
) -> Verdict:
    last = None if age is None else NOW - age
    base = last if last is not None else None
    return Verdict(
        contract=name,
        status=status,
        checked_at=NOW,
        last_update=last,
        warn_at=None if base is None or warn_after is None else base + warn_after,
        error_at=None if base is None or error_after is None else base + error_after,
        description=description or f"{name} is {status.value}",
        error=error,
        detail=detail,
        duration_seconds=0.004,
    )


def sample() -> list[Result]:
    """One of each status, in declaration order: fresh, stale, warn, error."""
    return [
        Result(contract("shop.customers", line=3), verdict("shop.customers", Status.FRESH)),
        Result(
            contract(
                "raw_shopify.orders",
                severity=Severity.CRITICAL,
                tags=("shopify", "revenue"),
                metadata={"pii": False, "runbook": "https://wiki.example.com/orders"},
                line=10,
            ),
            verdict("raw_shopify.orders", Status.STALE, age=timedelta(hours=1)),
        ),
        Result(
            contract("finance.invoices", owner="finance-analytics", line=20),
            verdict("finance.invoices", Status.WARN, age=timedelta(minutes=30)),
        ),
        Result(
            contract("ops.exports", line=30),
            verdict(
                "ops.exports",
                Status.ERROR,
                age=None,
                error='relation "ops.exports" does not exist',
            ),
        ),
    ]
