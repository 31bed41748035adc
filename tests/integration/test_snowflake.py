"""Snowflake for real (SPEC 14): `fresh check` and `fresh serve` through the real
snowflake-connector-python + snowflake-sqlalchemy against fakesnow's HTTP server.

How the server runs and how fresh reaches it: tests/integration/snowflake_rig.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.serving import start, wait_for, write_project
from tests.integration.snowflake_rig import FRESH_PY, Fakesnow

# fakesnow's server sends a NULL timestamp as 1970-01-01 (an emulator defect), so the empty
# table's column is a DATE, whose NULL comes back as NULL.
# Unquoted names are stored upper-case (ORDERS, LOADED_AT); the contracts name them lower-case.
TABLES = """\
CREATE DATABASE IF NOT EXISTS SHOP;
USE DATABASE SHOP;
CREATE SCHEMA IF NOT EXISTS SALES;
USE SCHEMA SALES;
CREATE OR REPLACE TABLE orders (id INT, source VARCHAR, loaded_at TIMESTAMP_NTZ);
INSERT INTO orders VALUES (1, 'web', '2026-11-27 09:00:00.123456'),
  (2, 'pos', '2026-11-27 11:00:00');
CREATE OR REPLACE TABLE ltz (ts TIMESTAMP_LTZ);
INSERT INTO ltz VALUES ('2026-11-27T10:00:00+01:00'::TIMESTAMP_TZ);
CREATE OR REPLACE TABLE tz (ts TIMESTAMP_TZ);
INSERT INTO tz VALUES ('2026-11-27T10:00:00+02:00'::TIMESTAMP_TZ);
CREATE OR REPLACE TABLE days (d DATE);
INSERT INTO days VALUES ('2026-11-25'), ('2026-11-26');
CREATE OR REPLACE TABLE epochs (s NUMBER(38,0), ms NUMBER(38,0));
INSERT INTO epochs VALUES (1782907200, 1782907200123), (1, 1);
CREATE OR REPLACE TABLE empty (d DATE)
"""


@pytest.fixture(scope="module")
def snow(fakesnow: Fakesnow) -> Fakesnow:
    """The server, seeded with one table per column type."""
    fakesnow.seed(TABLES)
    return fakesnow


FRESH_YML = """\
warehouses:
  snow:
    url: snowflake://fake:snow@fake/SHOP/SALES?connection_name=fakesnow
    timezone: Europe/Berlin
    query_tag: fresh-snow-test
owners:
  data: {notify: []}
"""

CHECKS = """\
defaults:
  warehouse: snow
  owner: data
  error_after: 36500d

contracts:
  - {name: ntz, table: orders, column: loaded_at}
  - {name: full_name, table: shop.sales.orders, column: loaded_at}
  - {name: web, table: orders, column: loaded_at, where: "source = 'web'"}
  - {name: ltz, table: ltz, column: ts}
  - {name: tz, table: tz, column: ts}
  - {name: date, table: days, column: d}
  - {name: epoch_s, table: epochs, column: s, column_format: epoch_s}
  - {name: epoch_ms, table: epochs, column: ms, column_format: epoch_ms}
  - {name: empty, table: empty, column: d}
  - {name: missing, table: nope, column: ts}
  - {name: q, query: "SELECT max(loaded_at) FROM orders WHERE id = 2"}
  - {name: meta, table: orders}
"""

# TIMESTAMP_NTZ and DATE read in the warehouse timezone (Europe/Berlin, UTC+1 in November).
EXPECTED = {
    "ntz": "2026-11-27T10:00:00Z",
    "full_name": "2026-11-27T10:00:00Z",
    "web": "2026-11-27T08:00:00Z",  # JSON times are whole seconds
    "ltz": "2026-11-27T09:00:00Z",
    "tz": "2026-11-27T08:00:00Z",
    "date": "2026-11-25T23:00:00Z",
    "epoch_s": "2026-07-01T12:00:00Z",
    "epoch_ms": "2026-07-01T12:00:00Z",
    "empty": None,
    "q": "2026-11-27T10:00:00Z",
}


def _same_instant(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    from datetime import datetime

    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


# Building the venvs (when `make snowflake-venvs` has not) can outlast the 300 s default.
@pytest.mark.timeout(1500)
def test_check_reads_every_column_type_through_the_real_connector(
    snow: Fakesnow, tmp_path: Path
) -> None:
    write_project(tmp_path, FRESH_YML, {"snow.yml": CHECKS})
    before = len(snow.sessions())
    proc = subprocess.run(
        [str(FRESH_PY), "-m", "monitor.cli", "check", "--format", "json"],
        cwd=tmp_path,
        env=snow.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    results = {r["contract"]: r for r in json.loads(proc.stdout)["results"]}
    got = {k: r["last_update"] for k, r in results.items() if k not in ("missing", "meta")}
    errors = {k: r["error"] for k, r in results.items() if k != "missing" and r["error"]}
    assert errors == {}
    assert set(got) == set(EXPECTED)
    for name, want in EXPECTED.items():
        assert _same_instant(got[name], want), (name, got[name], want)
    # The metadata read (information_schema.tables.last_altered) runs through the connector;
    # fakesnow keeps 1970-01-01 there, so only "it ran and found the table" is proven.
    assert results["meta"]["error"] is None
    assert results["meta"]["last_update"] == "1970-01-01T00:00:00Z"
    missing = results["missing"]
    assert missing["status"] == "error" and "NOPE" in missing["error"].upper()
    # Every session fresh opened carried the warehouse's query_tag (observed at the server).
    sessions = snow.sessions()[before:]
    assert sessions and all(s.get("QUERY_TAG") == "fresh-snow-test" for s in sessions), sessions
    assert "Traceback" not in proc.stderr


@pytest.mark.timeout(1500)
def test_serve_reads_a_round_through_the_real_connector(snow: Fakesnow, tmp_path: Path) -> None:
    write_project(tmp_path, FRESH_YML, {"snow.yml": CHECKS})
    served = start(tmp_path, env=snow.env(), python=str(FRESH_PY))
    try:

        def round_done() -> dict[str, dict[str, object]] | None:
            status, body = served.get_json("/api/v1/contracts")
            assert status == 200
            rows = {r["contract"]: r for r in body["results"]}
            return rows if all(r["status"] != "unknown" for r in rows.values()) else None

        rows = wait_for(round_done, timeout=120, step=0.5)
        for name, want in EXPECTED.items():
            assert _same_instant(rows[name]["last_update"], want), (name, rows[name], want)  # type: ignore[arg-type]
        assert rows["missing"]["status"] == "error"
        metrics = served.metrics()
        assert "fresh_warehouse_statements_total{" in metrics and 'warehouse="snow"' in metrics
    finally:
        code = served.stop()
        assert code == 0, served.log()
