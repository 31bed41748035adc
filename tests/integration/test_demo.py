"""The demo project: `build_demo` writes a warehouse whose contracts are fresh, warn and
stale; `advance_demo` keeps it alive; `fresh demo` builds it and shows it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli.app import app
from monitor.cli.demo_project import advance_demo, build_demo
from monitor.config.loader import load_project
from monitor.core.errors import UsageError

T0 = datetime.now(UTC).replace(microsecond=0)


def statuses(config: Path, at: datetime) -> dict[str, str]:
    result = CliRunner().invoke(
        app, ["check", "--config", str(config), "--format", "json", "--at", at.isoformat()]
    )
    assert result.exit_code in (0, 1), result.stderr
    return {r["contract"]: r["status"] for r in json.loads(result.stdout)["results"]}


def test_the_demo_has_fresh_late_and_stale_tables(tmp_path: Path) -> None:
    config = build_demo(tmp_path / "demo", T0)
    seen = statuses(config, T0)
    assert seen["shop.orders"] == "fresh"
    assert seen["shop.payments"] == "fresh"
    assert seen["shop.products"] == "fresh"
    assert seen["web.events"] == "fresh"  # the stalled app feed is filtered out by `where`
    assert seen["finance.invoices"] == "warn"
    assert seen["marketing.campaign_stats"] == "stale"
    # Every kind of source is in the demo: files, run log, heartbeat.
    assert seen["landing.partner_feed"] == "fresh"
    assert seen["jobs.export_orders"] == "fresh"
    assert seen["jobs.nightly_rollup"] == "stale"
    assert seen["backup.nightly"] == "stale"  # nobody has pinged it yet
    assert seen["crm.customers"] == "fresh"  # imported from the demo's dbt project
    assert len(seen) == 11


def test_the_run_log_contracts_count_failed_runs(tmp_path: Path) -> None:
    config = build_demo(tmp_path / "demo", T0)
    result = CliRunner().invoke(
        app, ["check", "--config", str(config), "-f", "json", "-s", "jobs.*", "--at", str(T0)]
    )
    details = {r["contract"]: r["detail"] for r in json.loads(result.stdout)["results"]}
    assert "1 failed run" in details["jobs.export_orders"]
    assert "2 failed runs" in details["jobs.nightly_rollup"]


def test_the_demo_passes_validation_with_owners_and_metadata(tmp_path: Path) -> None:
    config = build_demo(tmp_path / "demo", T0, notify="json://127.0.0.1:9/hook")
    project = load_project(config)
    assert project.warnings == ()
    owners = {c.owner for c in project.contracts}
    assert owners == {"ops-data-team", "finance-analytics", "marketing-analytics"}
    assert all("domain" in c.metadata for c in project.contracts)
    assert project.settings.alerts.fallback == ("json://127.0.0.1:9/hook",)
    assert project.settings.state.url == "sqlite:///.fresh/state.db"


def test_payments_go_late_and_recover_as_the_demo_advances(tmp_path: Path) -> None:
    config = build_demo(tmp_path / "demo", T0)
    assert statuses(config, T0 + timedelta(minutes=3))["shop.payments"] == "warn"
    assert statuses(config, T0 + timedelta(minutes=8))["shop.payments"] == "stale"
    later = T0 + timedelta(minutes=12)
    advance_demo(config.parent, later)
    seen = statuses(config, later)
    assert seen["shop.payments"] == "fresh"
    assert seen["shop.orders"] == "fresh"
    assert seen["finance.invoices"] == "warn"
    # Two hours on, the loaders still run: nothing healthy has drifted into stale.
    much_later = T0 + timedelta(hours=2)
    advance_demo(config.parent, much_later)
    seen = statuses(config, much_later)
    assert (seen["shop.orders"], seen["web.events"], seen["finance.invoices"]) == (
        "fresh", "fresh", "warn",
    )  # fmt: skip


def test_a_rebuild_replaces_an_earlier_demo(tmp_path: Path) -> None:
    build_demo(tmp_path / "demo", T0 - timedelta(days=3))
    config = build_demo(tmp_path / "demo", T0)
    assert statuses(config, T0)["shop.orders"] == "fresh"


def test_the_demo_never_overwrites_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "fresh.yml").write_text("warehouses: {}\n")
    with pytest.raises(UsageError, match="not empty"):
        build_demo(tmp_path / "mine", T0)
    assert (tmp_path / "mine" / "fresh.yml").read_text() == "warehouses: {}\n"


# `fresh demo` itself serves until stopped: see tests/integration/test_serve_demo.py


def test_a_ping_in_the_demo_store_makes_the_heartbeat_fresh(tmp_path: Path) -> None:
    from monitor.sources.heartbeat.pings import record
    from monitor.store import Store

    config = build_demo(tmp_path / "demo", T0)
    project = load_project(config)
    with Store.from_settings(project.settings) as store:
        record(store, project.by_name(), "backup.nightly", "success", T0 - timedelta(hours=1))
    assert statuses(config, T0)["backup.nightly"] == "fresh"
    assert (tmp_path / "demo" / ".fresh" / "state.db").is_file()  # beside the demo's fresh.yml
