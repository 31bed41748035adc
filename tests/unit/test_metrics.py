"""The metrics of SPEC section 6, built from contracts and verdicts at scrape time."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.models import (
    Contract,
    Expectation,
    Severity,
    Status,
    TableSource,
    Verdict,
)
from monitor.serve.metrics import ServiceMetrics, label_name, label_value

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def contract(
    name: str, warn: int | None = 1200, error: int | None = 3600, **kw: object
) -> Contract:
    return Contract(
        name=name,
        owner="ops-data-team",
        warehouse="main",
        source=TableSource(table=name, column="t"),
        expectation=Expectation(
            warn_after=timedelta(seconds=warn) if warn else None,
            error_after=timedelta(seconds=error) if error else None,
        ),
        severity=Severity.CRITICAL,
        **kw,  # type: ignore[arg-type]
    )


def samples(m: ServiceMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for fam in text_string_to_metric_families(m.render().decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m: ServiceMetrics, name: str, **labels: str) -> float | None:
    found = [v for (n, ls), v in samples(m).items() if n == name and set(labels.items()) <= set(ls)]
    assert len(found) <= 1, found
    return found[0] if found else None


def make() -> ServiceMetrics:
    cs = [
        contract("orders", metadata={"domain": "sales", "pii": False}),
        contract("empty", warn=None),
        contract("unchecked"),
    ]
    states = {
        "orders": Verdict(
            "orders",
            Status.WARN,
            T0,
            T0 - timedelta(minutes=30),
            T0 - timedelta(minutes=10),
            T0 + timedelta(minutes=30),
            "warn",
        ),
        "empty": Verdict("empty", Status.STALE, T0, None, None, None, "no data"),
    }
    return ServiceMetrics(
        "host:9184",
        "0.1.0",
        contracts=lambda: cs,
        metric_labels=lambda: ["domain", "pii"],
        states=lambda: states,
        outbox_size=lambda: 3,
    )


def test_per_contract_gauges_carry_the_contracts_labels_and_no_replica() -> None:
    m = make()
    lu = T0 - timedelta(minutes=30)
    labels = {
        "contract": "orders",
        "owner": "ops-data-team",
        "warehouse": "main",
        "severity": "critical",
        "domain": "sales",
        "pii": "false",
    }
    key = ("fresh_last_update_timestamp_seconds", frozenset(labels.items()))
    assert samples(m)[key] == lu.timestamp()
    assert value(m, "fresh_status", contract="orders", status="warn") == 1.0
    assert value(m, "fresh_status", contract="orders", status="fresh") == 0.0
    assert value(m, "fresh_threshold_seconds", contract="orders", level="error") == 3600
    assert (
        value(m, "fresh_deadline_timestamp_seconds", contract="orders", level="error")
        == (T0 + timedelta(minutes=30)).timestamp()
    )
    assert value(m, "fresh_last_check_timestamp_seconds", contract="orders") == T0.timestamp()
    for (name, ls), _ in samples(m).items():
        if name.startswith(("fresh_status", "fresh_deadline", "fresh_last")):
            assert "replica" not in dict(ls)


def test_without_data_deadlines_are_zero_and_the_unset_level_has_no_series() -> None:
    m = make()
    assert value(m, "fresh_deadline_timestamp_seconds", contract="empty", level="error") == 0.0
    assert value(m, "fresh_deadline_timestamp_seconds", contract="empty", level="warn") is None
    assert value(m, "fresh_threshold_seconds", contract="empty", level="warn") is None
    assert value(m, "fresh_last_update_timestamp_seconds", contract="empty") is None
    assert value(m, "fresh_status", contract="empty", status="stale") == 1.0


def test_a_contract_not_checked_yet_has_thresholds_but_no_status() -> None:
    m = make()
    assert value(m, "fresh_threshold_seconds", contract="unchecked", level="warn") == 1200
    assert value(m, "fresh_status", contract="unchecked", status="stale") is None


def test_process_series_carry_the_replica_label() -> None:
    m = make()
    m.observe_read("main", 0.02)
    m.count_error("orders")
    m.count_notification("ops-data-team", "sent")
    m.reload_successful = False
    assert value(m, "fresh_check_duration_seconds_count", warehouse="main", replica="host:9184")
    assert value(m, "fresh_check_errors_total", contract="orders", replica="host:9184") == 1
    assert value(m, "fresh_check_errors_total", contract="empty") == 0
    assert (
        value(
            m,
            "fresh_notifications_total",
            owner="ops-data-team",
            result="sent",
            replica="host:9184",
        )
        == 1
    )
    assert value(m, "fresh_config_last_reload_successful", replica="host:9184") == 0
    assert value(m, "fresh_outbox_messages", replica="host:9184") == 3
    assert value(m, "fresh_build_info", version="0.1.0", replica="host:9184") == 1
    assert value(m, "process_resident_memory_bytes", replica="host:9184")
    with pytest.raises(ValueError):
        m.count_notification("x", "maybe")


def test_each_service_metrics_has_its_own_registry() -> None:
    a, b = make(), make()
    a.count_error("orders")
    assert value(b, "fresh_check_errors_total", contract="orders") == 0


def test_metadata_keys_and_values_become_valid_labels() -> None:
    assert label_name("team-name") == "team_name"
    assert label_name("owner") == "metadata_owner"
    assert label_name("1x") == "metadata_1x"
    assert label_value(False) == "false"
    assert label_value(None) == ""
    assert label_value(3) == "3"


def test_the_output_passes_promtool_check_metrics() -> None:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not os.path.exists(promtool):
        pytest.skip("SKIPPED LOUDLY: promtool is not installed (apt-get install prometheus)")
    m = make()
    m.observe_read("main", 0.3)
    m.count_notification("ops-data-team", "failed")
    out = subprocess.run(
        [promtool, "check", "metrics"], input=m.render(), capture_output=True, timeout=30
    )
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
    assert out.stdout.decode() + out.stderr.decode() == ""


def scoped(m: ServiceMetrics, scope: str) -> dict[str, set[str]]:
    """Metric name → the contracts it has series for, in one scope's output."""
    out: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(m.render(scope).decode()):
        for s in fam.samples:
            if "contract" in s.labels:
                out.setdefault(s.name, set()).add(s.labels["contract"])
            elif s.labels.get("replica") == "host:9184":
                out.setdefault(s.name, set()).add("(replica)")
    return out


def test_scope_held_serves_only_the_held_contracts_and_the_replicas_own_series() -> None:
    base = make()
    held = {"orders"}
    asked: list[list[str]] = []

    def states_of(names: object) -> dict[str, Verdict]:
        asked.append(sorted(names))  # type: ignore[call-overload]
        return {"orders": base._states()["orders"]}

    m = ServiceMetrics(
        "host:9184",
        "0.1.0",
        contracts=base._contracts,
        metric_labels=base._metric_labels,
        states=base._states,
        outbox_size=lambda: 3,
        held=lambda: held,
        states_of=states_of,
    )
    m.observe_read("main", 0.02)
    everything = scoped(m, "all")
    assert everything["fresh_threshold_seconds"] == {"orders", "empty", "unchecked"}
    assert asked == []  # scope=all reads every state, not a share
    mine = scoped(m, "held")
    assert asked == [["orders"]]  # only the held rows are read from the store
    for name in ("fresh_status", "fresh_threshold_seconds", "fresh_maintenance"):
        assert mine[name] == {"orders"}, name
    assert mine["fresh_check_errors_total"] == {"orders"}
    # what this process did is there in either scope
    for name in ("fresh_check_duration_seconds_count", "fresh_build_info", "fresh_outbox_messages"):
        assert mine[name] == {"(replica)"} == everything[name], name
    held.clear()  # leases lapsed (store unreachable): no contract at all
    nothing = scoped(m, "held")
    assert not any(name.startswith("fresh_status") for name in nothing)
    assert nothing["fresh_build_info"] == {"(replica)"}
    with pytest.raises(ValueError, match="scope must be one of all, held"):
        m.render("mine")


def test_scope_held_on_a_single_replica_is_every_contract() -> None:
    m = make()  # no lease keeper: held() is None, it checks everything
    assert m.render("held").split(b"# HELP fresh_config")[0] == m.render("all").split(
        b"# HELP fresh_config"
    )[0]
