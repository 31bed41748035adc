"""`fresh serve` with `imports:` (SPEC 11): imported contracts are served like any other, a
changed manifest reloads them, and a manifest caught mid-write is retried, not refused."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.core.errors import ConfigError, Problem
from monitor.serve.reload import load_settled
from tests.integration.serving import sample, serving, wait_for, write_duckdb


def manifest(tables: dict[str, int]) -> dict[str, Any]:
    """A minimal dbt manifest: one source table per name, error_after N hours."""
    sources = {}
    for name, hours in tables.items():
        uid = f"source.shop.raw.{name}"
        sources[uid] = {
            "unique_id": uid,
            "package_name": "shop",
            "source_name": "raw",
            "name": name,
            "database": None,
            "schema": "main",
            "identifier": name,
            "loaded_at_field": "t",
            "loaded_at_query": None,
            "freshness": {"error_after": {"count": hours, "period": "hour"}, "filter": None},
            "meta": {"owner": "ops"},
            "source_meta": {},
            "tags": [],
            "config": {"enabled": True},
        }
    return {"metadata": {"dbt_version": "1.10.23"}, "sources": sources}


def contracts(served: Any) -> dict[str, dict[str, Any]]:
    status, body = served.get_json("/api/v1/contracts")
    assert status == 200
    return {r["contract"]: r for r in body["results"]}


def test_serve_reloads_when_the_manifest_changes_and_waits_out_a_half_written_one(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    write_duckdb(
        tmp_path / "warehouse.duckdb", {"orders": now, "payments": now - timedelta(hours=3)}
    )
    target = tmp_path / "target"
    target.mkdir()
    path = target / "manifest.json"
    path.write_text(json.dumps(manifest({"orders": 1})))
    (tmp_path / "fresh.yml").write_text(
        "owners:\n  ops: {notify: []}\nstate: {url: 'sqlite:///state.db'}\n"
        "imports:\n  - dbt: target/manifest.json\n"
    )
    with serving(tmp_path) as served:
        got = wait_for(lambda: contracts(served).get("raw.orders"))
        assert got["origin"]["node"] == "source.shop.raw.orders"
        # dbt rewrites the manifest in place: a reader can see it cut short for a moment.
        full = json.dumps(manifest({"orders": 1, "payments": 2}))
        path.write_text(full[: len(full) // 2])
        time.sleep(1.0)  # past the watcher's debounce: the half file is seen
        path.write_text(full)
        wait_for(lambda: "raw.payments" in contracts(served), timeout=30)
        assert contracts(served)["raw.payments"]["status"] in ("stale", "error")
        assert sample(served.metrics(), "fresh_config_last_reload_successful") == 1
        assert "reload_refused" not in served.log()


def test_load_settled_retries_a_half_written_json_then_gives_up() -> None:
    half = ConfigError([Problem("target/manifest.json", 1, 90, "not valid JSON (Expecting ',')")])
    calls: list[int] = []

    def load() -> Any:
        calls.append(1)
        if len(calls) < 3:
            raise half
        return "project"

    assert load_settled(load, settle=5, sleep=lambda s: None) == "project"
    other = ConfigError([Problem("checks/a.yml", 2, 3, "unknown key 'tabel'")])

    def broken() -> Any:
        raise other

    try:
        load_settled(broken, settle=5, sleep=lambda s: None)
    except ConfigError as exc:
        assert exc is other  # a plain mistake is not waited for
    stop = threading.Event()

    def never() -> Any:
        raise half

    started = time.monotonic()
    try:
        load_settled(never, settle=0.5, sleep=time.sleep)
    except ConfigError:
        stop.set()
    assert stop.is_set() and time.monotonic() - started < 5


def test_serve_reloads_when_a_dbt_projects_sources_file_changes(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    write_duckdb(tmp_path / "warehouse.duckdb", {"orders": now, "payments": now})
    (tmp_path / "dbt" / "models" / "staging").mkdir(parents=True)
    (tmp_path / "dbt" / "dbt_project.yml").write_text("name: shop\n")
    fresh = "{error_after: {count: 1, period: hour}}"
    head = "sources:\n  - name: {0}\n    schema: main\n    loaded_at_field: t\n    tables:\n"
    (tmp_path / "dbt" / "models" / "sources.yml").write_text(
        head.format("raw") + f"      - {{name: orders, freshness: {fresh}}}\n"
    )
    # A sources file with no freshness yet: nothing imported from it, but it is watched.
    later = tmp_path / "dbt" / "models" / "staging" / "more.yml"
    later.write_text(head.format("pay") + "      - {name: payments}\n")
    (tmp_path / "fresh.yml").write_text(
        "owners:\n  ops: {notify: []}\nstate: {url: 'sqlite:///state.db'}\n"
        "imports:\n  - {dbt: dbt/, owner: ops}\n"
    )
    with serving(tmp_path) as served:
        wait_for(lambda: contracts(served).get("raw.orders"), timeout=60)
        later.write_text(head.format("pay") + f"      - {{name: payments, freshness: {fresh}}}\n")
        got = wait_for(lambda: contracts(served).get("pay.payments"), timeout=60)
        assert got["origin"]["file"] == "dbt/models/staging/more.yml"
