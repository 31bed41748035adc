"""The JSON object of SPEC section 4, field by field."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from monitor.core.errors import UsageError
from monitor.core.models import Severity, Status
from monitor.report.render import render
from monitor.report.results import (
    Result,
    failing_statuses,
    iso_z,
    report_to_json,
    verdict_to_json,
    worst_first,
)
from tests.unit.report_fixtures import NOW, contract, sample, verdict

RESULT_KEYS = [
    "contract", "status", "owner", "severity", "warehouse", "tags", "metadata",
    "last_update", "age_seconds", "warn_after_seconds", "error_after_seconds", "deadline",
    "error", "detail", "duration_seconds", "origin", "maintenance_until",
]  # fmt: skip


def test_a_result_has_the_spec_fields_in_the_spec_order() -> None:
    r = sample()[1]
    assert list(verdict_to_json(r.contract, r.verdict)) == RESULT_KEYS


def test_a_result_matches_the_spec_example_exactly() -> None:
    r = sample()[1]
    assert verdict_to_json(r.contract, r.verdict) == {
        "contract": "raw_shopify.orders",
        "status": "stale",
        "owner": "ops-data-team",
        "severity": "critical",
        "warehouse": "main",
        "tags": ["shopify", "revenue"],
        "metadata": {"pii": False, "runbook": "https://wiki.example.com/orders"},
        "last_update": "2026-11-24T09:00:00Z",
        "age_seconds": 3600.0,
        "warn_after_seconds": 1200,
        "error_after_seconds": 3600,
        "deadline": "2026-11-24T10:00:00Z",
        "error": None,
        "detail": None,
        "duration_seconds": 0.004,
        "origin": {"file": "checks/shop.yml", "line": 10, "node": None},
        "maintenance_until": None,
    }


def test_a_contract_in_a_maintenance_window_says_until_when() -> None:
    r = sample()[1]
    until = NOW + timedelta(hours=2)
    assert verdict_to_json(r.contract, r.verdict, until)["maintenance_until"] == (
        "2026-11-24T12:00:00Z"
    )
    obj = report_to_json(NOW, [replace(r, maintenance_until=until)])
    assert obj["results"][0]["maintenance_until"] == "2026-11-24T12:00:00Z"


def test_the_report_has_checked_at_summary_and_results_in_declaration_order() -> None:
    obj = report_to_json(NOW, sample())
    assert list(obj) == ["checked_at", "summary", "results"]
    assert obj["checked_at"] == "2026-11-24T10:00:00Z"
    assert obj["summary"] == {"fresh": 1, "warn": 1, "stale": 1, "error": 1}
    assert list(obj["summary"]) == ["fresh", "warn", "stale", "error"]
    names = [r["contract"] for r in obj["results"]]
    assert names == ["shop.customers", "raw_shopify.orders", "finance.invoices", "ops.exports"]


def test_the_summary_lists_all_four_statuses_even_when_zero() -> None:
    obj = report_to_json(NOW, sample()[:1])
    assert obj["summary"] == {"fresh": 1, "warn": 0, "stale": 0, "error": 0}


def test_an_empty_report_is_valid() -> None:
    assert report_to_json(NOW, []) == {
        "checked_at": "2026-11-24T10:00:00Z",
        "summary": {"fresh": 0, "warn": 0, "stale": 0, "error": 0},
        "results": [],
    }


def test_no_data_gives_null_times_and_age() -> None:
    r = sample()[3]
    obj = verdict_to_json(r.contract, r.verdict)
    assert obj["last_update"] is None
    assert obj["age_seconds"] is None
    assert obj["deadline"] is None
    assert obj["error"] == 'relation "ops.exports" does not exist'


def test_a_missing_threshold_is_null_and_the_deadline_is_the_warn_time() -> None:
    c = contract("a", error=None)
    v = verdict("a", Status.FRESH, error_after=None, age=timedelta(minutes=5))
    obj = verdict_to_json(c, v)
    assert obj["error_after_seconds"] is None
    assert obj["warn_after_seconds"] == 1200
    assert obj["deadline"] == "2026-11-24T10:15:00Z"


def test_times_are_utc_with_z_whatever_their_zone() -> None:
    berlin = timezone(timedelta(hours=1))
    assert iso_z(datetime(2026, 11, 24, 11, 0, tzinfo=berlin)) == "2026-11-24T10:00:00Z"
    assert iso_z(datetime(2026, 11, 24, 10, 0)) == "2026-11-24T10:00:00Z"  # naive is UTC
    assert iso_z(datetime(2026, 11, 24, 10, 0, 0, 999_999, tzinfo=UTC)) == "2026-11-24T10:00:00Z"
    assert iso_z(None) is None


def test_age_is_a_float_and_thresholds_are_ints() -> None:
    r = sample()[0]
    obj = verdict_to_json(r.contract, r.verdict)
    assert isinstance(obj["age_seconds"], float)
    assert isinstance(obj["warn_after_seconds"], int)
    assert isinstance(obj["error_after_seconds"], int)


def test_metadata_with_dates_and_nesting_is_still_json() -> None:
    c = contract("a", metadata={"since": date(2026, 1, 2), "links": {"doc": ("x", "y")}})
    obj = verdict_to_json(c, verdict("a", Status.FRESH))
    assert obj["metadata"] == {"since": "2026-01-02", "links": {"doc": ["x", "y"]}}
    json.dumps(obj)


def test_render_json_is_one_parseable_object() -> None:
    text = render("json", sample(), NOW)
    assert text.endswith("\n")
    assert json.loads(text)["summary"]["stale"] == 1


def test_worst_first_puts_error_then_stale_then_warn_then_fresh() -> None:
    order = [r.verdict.status for r in worst_first(sample())]
    assert order == [Status.ERROR, Status.STALE, Status.WARN, Status.FRESH]


def test_within_a_status_critical_comes_first_then_the_nearest_deadline() -> None:
    results = [
        Result(contract("late", line=1), verdict("late", Status.FRESH, age=timedelta(minutes=50))),
        Result(contract("soon", line=2), verdict("soon", Status.FRESH, age=timedelta(minutes=55))),
        Result(
            contract("vip", severity=Severity.CRITICAL),
            verdict("vip", Status.FRESH, age=timedelta(minutes=1)),
        ),
    ]
    assert [r.contract.name for r in worst_first(results)] == ["vip", "soon", "late"]


def test_fail_on_warn_adds_warn_to_the_failing_statuses() -> None:
    assert failing_statuses("stale") == {Status.STALE, Status.ERROR}
    assert failing_statuses("warn") == {Status.WARN, Status.STALE, Status.ERROR}
    with pytest.raises(UsageError, match="--fail-on"):
        failing_statuses("fresh")


def test_an_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown format 'yaml'"):
        render("yaml", sample(), NOW)
