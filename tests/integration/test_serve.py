"""`fresh serve` as a real subprocess on a free port, against DuckDB and SQLite / PostgreSQL
state stores: metrics, deadlines, pings, reloads, signals, bad input."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import servers
from tests.integration.serving import (
    Served,
    parse_metrics,
    sample,
    serving,
    start,
    wait_for,
    write_duckdb,
    write_project,
)

FRESH_YML = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
state:
  url: {state}
server:
  ping_token: {token}
  {auth}
metric_labels: [domain]
"""

CHECKS = """\
defaults:
  owner: ops-data-team
  warehouse: main
contracts:
  - name: shop.orders
    table: orders
    column: t
    severity: critical
    metadata: {domain: sales}
    warn_after: 20m
    error_after: 1h
  - name: shop.old
    table: old
    column: t
    error_after: 1h
  - name: shop.empty
    table: empty
    column: t
    warn_after: 10m
  - name: backup
    heartbeat: {}
    error_after: 1d
"""

TOKEN = "ping-token-s3cret"


def project(
    tmp: Path,
    state: str = "sqlite:///.fresh/state.db",
    token: str = "",
    auth: str = "",
    checks: str = CHECKS,
) -> dict[str, datetime | None]:
    now = datetime.now(UTC).replace(microsecond=0)
    data: dict[str, datetime | None] = {
        "orders": now - timedelta(minutes=5),
        "old": now - timedelta(hours=3),
        "empty": None,
    }
    write_duckdb(tmp / "warehouse.duckdb", data)
    write_project(
        tmp,
        FRESH_YML.format(state=state, token=token, auth=auth),
        {"shop.yml": checks},
    )
    return data


def checked(served: object, name: str) -> bool:
    status, _body = served.get_json(f"/api/v1/contracts/{name}")  # type: ignore[attr-defined]
    return status == 200


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("SKIPPED LOUDLY: promtool not installed (apt-get install prometheus)")
    out = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()


def assert_metrics_match(served: object, data: dict[str, datetime | None]) -> None:
    wait_for(lambda: all(checked(served, n) for n in ("shop.orders", "shop.old", "shop.empty")))
    text = served.metrics()  # type: ignore[attr-defined]
    orders = data["orders"]
    assert orders is not None
    assert sample(text, "fresh_last_update_timestamp_seconds", contract="shop.orders") == (
        orders.timestamp()
    )
    assert (
        sample(
            text,
            "fresh_status",
            contract="shop.orders",
            status="fresh",
            owner="ops-data-team",
            warehouse="main",
            severity="critical",
            domain="sales",
        )
        == 1
    )
    assert (
        sample(text, "fresh_deadline_timestamp_seconds", contract="shop.orders", level="warn")
        == (orders + timedelta(minutes=20)).timestamp()
    )
    assert sample(text, "fresh_threshold_seconds", contract="shop.orders", level="error") == 3600
    assert sample(text, "fresh_status", contract="shop.old", status="stale") == 1
    # no data at all: stale, deadlines 0, and the level it does not set has no series
    assert sample(text, "fresh_status", contract="shop.empty", status="stale") == 1
    assert (
        sample(text, "fresh_deadline_timestamp_seconds", contract="shop.empty", level="warn") == 0
    )
    assert (
        sample(text, "fresh_deadline_timestamp_seconds", contract="shop.empty", level="error")
        is None
    )
    assert sample(text, "fresh_last_update_timestamp_seconds", contract="shop.empty") is None
    assert sample(text, "fresh_config_last_reload_successful") == 1
    assert sample(text, "fresh_build_info") == 1
    assert sample(text, "fresh_outbox_messages") == 0
    assert sample(text, "fresh_check_duration_seconds_count", warehouse="main")
    assert sample(text, "process_resident_memory_bytes")
    for line in text.splitlines():
        if line.startswith(("fresh_status", "fresh_deadline", "fresh_last_update")):
            assert "replica=" not in line
        if line.startswith(("fresh_check_duration", "fresh_check_errors", "process_")):
            assert f'replica="{os.uname().nodename}:{served.port}"' in line  # type: ignore[attr-defined]
    promtool_check(text)


def test_metrics_match_the_data_and_pass_promtool(tmp_path: Path) -> None:
    data = project(tmp_path)
    with serving(tmp_path) as served:
        assert_metrics_match(served, data)
        status, body = served.get_json("/api/v1/contracts")
        assert status == 200
        assert (
            body["summary"] == {"fresh": 1, "warn": 0, "stale": 2, "error": 0}
            or body["summary"]["stale"] >= 2
        )
        orders = next(r for r in body["results"] if r["contract"] == "shop.orders")
        assert orders["status"] == "fresh"
        assert orders["metadata"] == {"domain": "sales"}
        assert orders["last_update"] == data["orders"].strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
        assert_held_scope_is_everything(served)


def assert_held_scope_is_everything(served: Served) -> None:
    """One replica holds every contract: `?scope=held` has the same per-contract series as
    the full scrape; an unknown scope is a 400."""

    def contracts(path: str) -> set[str]:
        status, body, _ = served.request(path)
        assert status == 200
        return {
            dict(labels)["contract"]
            for (name, labels) in parse_metrics(body.decode())
            if name == "fresh_status"
        }

    everything = contracts("/metrics")
    assert everything and wait_for(lambda: contracts("/metrics?scope=held") == everything)
    status, body, _ = served.request("/metrics?scope=mine")
    assert status == 400 and b"scope must be one of all, held" in body


def test_it_serves_the_same_with_a_postgresql_state_store(tmp_path: Path, pg_url: str) -> None:
    state = servers.create_database(pg_url)
    data = project(tmp_path, state=state)
    with serving(tmp_path) as served:
        assert_metrics_match(served, data)
        status, body = served.get_json("/readyz")
        assert status == 200, body
        assert_held_scope_is_everything(served)  # through its leases, on PostgreSQL
    # nothing about the SQLite default was written
    assert not (tmp_path / ".fresh" / "state.db").exists()


FLIP = """\
defaults: {owner: ops}
contracts:
  - name: fast
    table: fast
    column: t
    warn_after: 5s
    error_after: 8s
    check_every: 1h
"""


def test_a_contract_flips_within_2s_of_its_deadlines_with_check_every_1h(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        "warehouses: {main: {url: 'duckdb:///w.duckdb'}}\nstate: {url: 'sqlite:///s.db'}\n",
        {"a.yml": FLIP},
    )
    t0 = datetime.now(UTC)
    write_duckdb(tmp_path / "w.duckdb", {"fast": t0})
    with serving(tmp_path) as served:
        seen: dict[str, float] = {}

        def stale() -> bool:
            status, body = served.get_json("/api/v1/contracts/fast")
            if status == 200:
                seen.setdefault(body["status"], time.time())
            return status == 200 and body["status"] == "stale"

        wait_for(stale, timeout=30, step=0.05)
        _, body = served.get_json("/api/v1/contracts/fast")
    assert "fresh" in seen, "the first check came after the deadlines: machine too slow?"
    flips = {h["status"]: h["checked_at"] for h in body["history"]}
    warn_at = t0 + timedelta(seconds=5)
    error_at = t0 + timedelta(seconds=8)
    # what the service recorded (whole seconds), and what a poller saw (wall time)
    for status, deadline in (("warn", warn_at), ("stale", error_at)):
        at = datetime.strptime(flips[status], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert deadline - timedelta(seconds=1) <= at <= deadline + timedelta(seconds=2)
    assert seen["stale"] - error_at.timestamp() <= 2.0, seen["stale"] - error_at.timestamp()
    assert seen["stale"] >= error_at.timestamp()


def test_pings_need_the_token_and_refuse_bad_input(tmp_path: Path) -> None:
    project(tmp_path, token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving(tmp_path) as served:
        assert served.request("/api/v1/ping/backup", "POST")[0] == 401
        wrong = {"Authorization": "Bearer nope"}
        assert served.request("/api/v1/ping/backup", "POST", headers=wrong)[0] == 401
        code, body, headers = served.request("/api/v1/ping/backup", "POST", headers=wrong)
        assert json.loads(body)["status"] == 401 and "Bearer" in headers["www-authenticate"]
        assert served.request("/api/v1/ping/nope", "POST", headers=auth)[0] == 404
        code, body, _ = served.request("/api/v1/ping/shop.orders", "POST", headers=auth)
        assert code == 409 and "heartbeat" in json.loads(body)["error"]
        big = b"x" * (10 * 1024 + 1)
        assert served.request("/api/v1/ping/backup", "POST", big, auth)[0] == 413
        assert served.request("/api/v1/ping/backup?exit_code=x", "POST", headers=auth)[0] == 400
        assert served.request("/api/v1/ping/backup?duration=-1", "POST", headers=auth)[0] == 400
        assert served.request("/api/v1/ping/backup/later", "POST", headers=auth)[0] == 404
        assert served.request("/api/v1/ping/backup", "GET", headers=auth)[0] == 405
        ok = served.request(
            "/api/v1/ping/backup/fail?exit_code=3&duration=1.5", "POST", b"disk full\n", auth
        )
        assert ok[0] == 200, ok
        assert json.loads(ok[1])["kind"] == "fail"
        assert served.request("/api/v1/ping/backup/start", "POST", headers=auth)[0] == 200
        assert served.request("/api/v1/ping/backup", "POST", b"x" * 10240, auth)[0] == 200
        log = served.log()
    assert TOKEN not in log
    from monitor.store import Store

    with Store.open("sqlite:///.fresh/state.db", tmp_path) as store:
        pings = store.pings("backup")
    assert [p.kind for p in pings] == ["success", "start", "fail"]
    assert pings[2].exit_code == 3 and pings[2].duration_seconds == 1.5
    assert pings[2].output == "disk full\n"


def test_pings_without_a_token_are_open(tmp_path: Path) -> None:
    project(tmp_path)
    with serving(tmp_path) as served:
        assert served.request("/api/v1/ping/backup", "POST")[0] == 200


def test_bad_input_on_every_endpoint_gets_a_json_error(tmp_path: Path) -> None:
    project(tmp_path, auth="auth: {username: ops, password: ui-pass-w0rd}")
    good = {"Authorization": "Basic " + base64.b64encode(b"ops:ui-pass-w0rd").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"ops:nope").decode()}
    with serving(tmp_path) as served:
        wait_for(lambda: served.get_json("/api/v1/contracts/shop.orders", headers=good)[0] == 200)
        for path in (
            "/",
            "/api/v1/contracts",
            "/api/v1/contracts/shop.orders",
            "/api/v1/openapi.json",
        ):
            assert served.request(path)[0] == 401, path
            assert served.request(path, headers=bad)[0] == 401, path
            assert served.request(path, headers={"Authorization": "Basic !!"})[0] == 401
            assert served.request(path, headers=good)[0] == 200, path
        for path in ("/metrics", "/healthz", "/readyz"):
            assert served.request(path)[0] == 200, path
        assert served.request("/api/v1/ping/backup", "POST")[0] == 200  # no ping_token set
        cases = [
            ("/api/v1/contracts/nope", "GET", 404),
            ("/api/v1/contracts?select=color:red", "GET", 400),
            ("/api/v1/contracts/shop.orders?limit=0", "GET", 400),
            ("/api/v1/contracts/shop.orders?limit=abc", "GET", 400),
            ("/api/v1/nothing", "GET", 404),
            ("/api/v1/contracts", "POST", 405),
            ("/metrics", "DELETE", 405),
        ]
        for path, method, code in cases:
            status, body, _headers = served.request(path, method, headers=good)
            assert status == code, (path, status, body)
            payload = json.loads(body)
            assert payload["status"] == code and payload["error"]
        status, body = served.get_json(
            "/api/v1/contracts?select=shop.or*&select=shop.old", headers=good
        )
        assert status == 200
        assert sorted(r["contract"] for r in body["results"]) == ["shop.old", "shop.orders"]
        status, body = served.get_json("/api/v1/contracts?select=tag:none", headers=good)
        assert body["results"] == [] and body["summary"]["stale"] == 0
        status, one = served.get_json("/api/v1/contracts/shop.orders?limit=5", headers=good)
        assert one["contract"] == "shop.orders" and one["history"][0]["status"] == "fresh"
        status, doc = served.get_json("/api/v1/openapi.json", headers=good)
        assert doc["openapi"].startswith("3.") and "/api/v1/ping/{name}/fail" in doc["paths"]
        log = served.log()
    assert "ui-pass-w0rd" not in log


def test_sighup_with_a_broken_file_keeps_the_last_good_config(tmp_path: Path) -> None:
    project(tmp_path)
    with serving(tmp_path) as served:
        wait_for(lambda: checked(served, "shop.old"))
        broken = CHECKS.replace(
            "    column: t\n    error_after: 1h", "    colum: t\n    error_after: 1h"
        )
        (tmp_path / "checks" / "shop.yml").write_text(broken)
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reason=SIGHUP" in served.log() and "reload_refused" in served.log())
        assert sample(served.metrics(), "fresh_config_last_reload_successful") == 0
        assert re.search(r"checks/shop\.yml:\d+:\d+: ", served.log()), served.log()
        assert checked(served, "shop.old")
        assert served.get_json("/readyz")[0] == 200
        # a good edit is picked up from the file change alone, and removes what it dropped
        fixed = CHECKS.replace(
            "  - name: shop.old\n    table: old\n    column: t\n    error_after: 1h\n", ""
        )
        (tmp_path / "checks" / "shop.yml").write_text(fixed)
        wait_for(lambda: sample(served.metrics(), "fresh_config_last_reload_successful") == 1)
        wait_for(lambda: served.get_json("/api/v1/contracts/shop.old")[0] == 404)
        assert 'contract="shop.old"' not in served.metrics()
        assert "contracts_removed" in served.log()


def serve_once(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`fresh serve ARGS` in a subprocess expected to give up at once (it has no stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "serve", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env} if env else None,
    )


def test_a_second_serve_on_one_sqlite_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    project(tmp_path)
    with serving(tmp_path):
        out = serve_once(tmp_path, "--listen", f"127.0.0.1:{servers.free_port()}")
    assert out.returncode == 2
    assert str(tmp_path / ".fresh" / "state.db") in out.stderr


def test_an_invalid_configuration_at_start_exits_2_with_positions(tmp_path: Path) -> None:
    project(tmp_path, checks=CHECKS.replace("warn_after: 20m", "warn_after: soon"))
    out = serve_once(tmp_path, "--listen", f"127.0.0.1:{servers.free_port()}")
    assert out.returncode == 2
    assert re.search(r"checks/shop\.yml:\d+:\d+: ", out.stderr), out.stderr


def test_a_busy_port_exits_2(tmp_path: Path) -> None:
    project(tmp_path)
    with serving(tmp_path) as served:
        listen = f"127.0.0.1:{served.port}"
        out = serve_once(tmp_path, "--listen", listen, "--config", "fresh.yml", FRESH_TEST="1")
    assert out.returncode == 2


def test_json_logs_are_one_object_per_line_with_secrets_masked(tmp_path: Path) -> None:
    project(tmp_path, token=TOKEN)
    with serving(tmp_path, "--log-format", "json") as served:
        wait_for(lambda: checked(served, "shop.old"))
        served.request(f"/api/v1/ping/nope?token={TOKEN}", "POST")
    lines = [json.loads(line) for line in served.log().splitlines() if line.strip()]
    events = {line.get("event") for line in lines}
    assert {"started", "status_changed", "stopping", "stopped"} <= events
    assert all("time" in line and "level" in line for line in lines)
    assert TOKEN not in served.log()


def test_sigterm_lets_in_flight_reads_finish_and_exits_0(tmp_path: Path) -> None:
    project(tmp_path)
    served = start(tmp_path)
    wait_for(lambda: checked(served, "shop.orders"))
    assert served.stop(signal.SIGTERM) == 0
    assert "stopped" in served.log()
    served = start(tmp_path)  # the store is released: a new serve starts at once
    assert served.stop(signal.SIGINT) == 0
