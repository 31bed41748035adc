"""Quoted and mixed-case Snowflake names (SPEC 14, issue 15), through the real connector
against fakesnow, and on the SQL text the real dialect builds where fakesnow cannot tell:
it runs on DuckDB, which matches names case-insensitively, so `"MyTable"` and `MYTABLE`
are one table there while Snowflake keeps them apart.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.serving import write_project
from tests.integration.snowflake_rig import FRESH_PY, Fakesnow
from tests.integration.test_snowflake import FRESH_YML, TABLES

NAMES = """\
CREATE DATABASE IF NOT EXISTS SHOP;
USE DATABASE SHOP;
CREATE SCHEMA IF NOT EXISTS SALES;
USE SCHEMA SALES;
CREATE OR REPLACE TABLE "MyTable" ("LoadedAt" TIMESTAMP_NTZ, "Source" VARCHAR);
INSERT INTO "MyTable" VALUES ('2026-11-27 09:00:00', 'web'), ('2026-11-27 11:00:00', 'pos');
CREATE OR REPLACE TABLE CamelOrders (LoadedAt TIMESTAMP_NTZ);
INSERT INTO CamelOrders VALUES ('2026-11-27 08:00:00');
CREATE DATABASE IF NOT EXISTS "Db";
CREATE SCHEMA IF NOT EXISTS "Db"."Sch";
CREATE OR REPLACE TABLE "Db"."Sch"."Tbl" (ts TIMESTAMP_NTZ);
INSERT INTO "Db"."Sch"."Tbl" VALUES ('2026-11-28 09:00:00')
"""

CHECKS = """\
defaults: {warehouse: snow, owner: data, error_after: 36500d}
contracts:
  - {name: quoted, table: '"MyTable"', column: '"LoadedAt"'}
  - {name: quoted_where, table: '"MyTable"', column: '"LoadedAt"', where: "\\"Source\\" = 'web'"}
  - {name: qualified, table: 'shop.sales."MyTable"', column: '"LoadedAt"'}
  - {name: other_db, table: '"Db"."Sch"."Tbl"', column: ts}
  - {name: plain_mixed, table: CamelOrders, column: LoadedAt}
  - {name: meta_quoted, table: '"MyTable"'}
  - {name: meta_other_db, table: '"Db"."Sch"."Tbl"'}
"""

# NTZ read in the warehouse's Europe/Berlin (UTC+1 in November).
EXPECTED = {
    "quoted": "2026-11-27T10:00:00Z",
    "quoted_where": "2026-11-27T08:00:00Z",
    "qualified": "2026-11-27T10:00:00Z",
    "other_db": "2026-11-28T08:00:00Z",
    "plain_mixed": "2026-11-27T07:00:00Z",
    "meta_quoted": "1970-01-01T00:00:00Z",  # fakesnow's last_altered: the table was found
    "meta_other_db": "1970-01-01T00:00:00Z",
}


@pytest.fixture(scope="module")
def snow(fakesnow: Fakesnow) -> Fakesnow:
    fakesnow.seed(TABLES)
    fakesnow.seed(NAMES)
    return fakesnow


@pytest.mark.timeout(1500)
def test_quoted_and_mixed_case_names_read_through_the_real_connector(
    snow: Fakesnow, tmp_path: Path
) -> None:
    write_project(tmp_path, FRESH_YML, {"names.yml": CHECKS})
    before = len(snow.statements())
    results = snow.check(tmp_path)
    assert {k: r["error"] for k, r in results.items() if r["error"]} == {}
    assert {k: r["last_update"] for k, r in results.items()} == EXPECTED
    # The five column reads went in one batched statement, names as Snowflake needs them.
    reads = [s for s in snow.statements()[before:] if "max(" in s]
    assert len(reads) == 1, reads
    assert 'max("LoadedAt") FROM "MyTable"' in reads[0]
    assert 'FROM shop.sales."MyTable"' in reads[0]
    assert 'FROM "Db"."Sch"."Tbl"' in reads[0]
    assert "max(loadedat) FROM camelorders" in reads[0]
    meta = [s for s in snow.statements()[before:] if "last_altered" in s]
    assert len(meta) == 1 and '"Db".information_schema.tables' in meta[0], meta


def _explain(project: Path, name: str, snow: Fakesnow) -> str:
    done = subprocess.run(
        [str(FRESH_PY), "-m", "monitor.cli", "explain", name],
        cwd=project,
        env=snow.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.timeout(1500)
def test_snowflakes_dialect_gets_plain_names_folded_and_quoted_names_exact(
    snow: Fakesnow, tmp_path: Path
) -> None:
    checks = """\
defaults: {warehouse: snow, owner: data, error_after: 1d}
contracts:
  - {name: plain_mixed, table: Shop.Sales.CamelOrders, column: LoadedAt}
  - {name: reserved, table: order, column: select}
  - {name: quoted, table: '"Db"."Sch"."My ""Big"" Table"', column: '"Loaded At"'}
  - {name: quoted_upper, table: '"ORDERS"', column: '"LOADED_AT"'}
"""
    write_project(tmp_path, FRESH_YML, {"names.yml": checks})
    # Unquoted names mean what Snowflake stores for them (upper case), never the
    # case-sensitive "CamelOrders" a SQLAlchemy dialect quotes for a mixed-case name.
    assert "SELECT max(loadedat) FROM shop.sales.camelorders" in _explain(
        tmp_path, "plain_mixed", snow
    )
    assert 'SELECT max("SELECT") FROM "ORDER"' in _explain(tmp_path, "reserved", snow)
    assert 'SELECT max("Loaded At") FROM "Db"."Sch"."My ""Big"" Table"' in _explain(
        tmp_path, "quoted", snow
    )
    assert 'SELECT max("LOADED_AT") FROM "ORDERS"' in _explain(tmp_path, "quoted_upper", snow)
