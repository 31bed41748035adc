"""The one serializer of frozen dataclasses (core/serial.py), on the alert facts it stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.core.models import Status
from monitor.core.serial import from_json, to_json

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

FULL = AlertFacts(
    contract="orders",
    kind=Kind.REPEATED,
    status=Status.STALE,
    previous=Status.WARN,
    at=AT,
    owner="ops",
    severity="critical",
    warehouse="main",
    tags=("finance", "daily"),
    metadata={"runbook": "https://wiki/x", "tiers": [1, 2]},
    description="stale: 2h old",
    last_update=AT - timedelta(hours=2),
    checked_at=AT,
    warn_after=timedelta(minutes=20),
    error_after=timedelta(hours=1),
    schedule="0 6 * * *",
    timezone="Europe/Berlin",
    deadline=AT - timedelta(hours=1),
    error="boom",
    detail="2 failed runs",
    output_tail="Traceback…",
    reason="silence ended",
)


def test_every_field_round_trips_through_json_text() -> None:
    assert from_json(AlertFacts, json.loads(json.dumps(to_json(FULL)))) == FULL


def test_the_stored_form_uses_iso_times_seconds_and_plain_values() -> None:
    data = to_json(FULL)
    assert data["at"] == "2026-11-24T10:00:00+00:00"
    assert data["warn_after"] == 1200.0
    assert data["kind"] == "repeated" and data["status"] == "stale" and data["previous"] == "warn"
    assert data["tags"] == ["finance", "daily"]
    assert list(data) == [f for f in AlertFacts.__dataclass_fields__]


def test_a_row_from_an_older_version_gets_the_defaults() -> None:
    row = {
        "contract": "orders",
        "kind": "fired",
        "status": "stale",
        "previous": None,
        "at": "2026-11-24T10:00:00+00:00",
        "owner": "ops",
        "severity": "warning",
        "warehouse": "main",
        "description": None,
        "timezone": None,
    }
    facts = from_json(AlertFacts, row)
    assert facts.description == "" and facts.timezone == "UTC" and facts.reason == ""
    assert facts.tags == () and dict(facts.metadata) == {} and facts.last_update is None


def test_a_missing_required_field_is_an_error() -> None:
    row = to_json(FULL)
    del row["owner"]
    with pytest.raises(KeyError, match="owner"):
        from_json(AlertFacts, row)
