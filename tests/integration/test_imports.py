"""`imports:` in fresh.yml and `fresh import` (SPEC 11): dbt project folders read without dbt,
names on collisions, overrides by checks/, owners, and data contracts of both standards
(files shaped like each standard's own published examples), checked on a real DuckDB."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from monitor.cli.app import app

AT = "2026-12-01T12:00:00Z"
OWNERS = "owners:\n  data-platform: {notify: []}\n  checkout-team: {notify: []}\n"


@pytest.fixture()
def here(tmp_path: Path) -> Iterator[Path]:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(
        """
        CREATE SCHEMA raw; CREATE SCHEMA public;
        CREATE TABLE raw.orders (_loaded_at TIMESTAMP);
        INSERT INTO raw.orders VALUES ('2026-12-01 11:30:00');
        CREATE TABLE public.orders (order_timestamp TIMESTAMP);
        INSERT INTO public.orders VALUES ('2026-12-01 11:00:00');
        CREATE TABLE public.tbl_1 (txn_ref_dt DATE, updated_at TIMESTAMP);
        INSERT INTO public.tbl_1 VALUES ('2026-11-26', '2026-12-01 11:55:00');
        """
    )
    con.close()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def write(base: Path, rel: str, text: str) -> None:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def dbt_project(base: Path, folder: str, name: str, sources: str) -> None:
    write(base, f"{folder}/dbt_project.yml", f"name: {name}\nvars: {{raw: raw}}\n")
    write(base, f"{folder}/models/sources.yml", sources)


SOURCES = """\
version: 2
sources:
  - name: shop
    schema: "{{ var('raw') }}"
    loaded_at_field: _loaded_at
    freshness: {error_after: {count: 2, period: hour}}
    tables:
      - name: orders
"""


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def results() -> dict[str, dict[str, Any]]:
    out = run("check", "--format", "json", "--at", AT)
    assert out.exit_code in (0, 1), out.output
    return {r["contract"]: r for r in json.loads(out.stdout)["results"]}


def test_other_jinja_in_sources_is_an_error_at_its_position(here: Path) -> None:
    dbt_project(
        here,
        "analytics",
        "analytics",
        "version: 2\nsources:\n  - name: shop\n"
        "    database: \"{% if target.name == 'prod' %}prod{% else %}dev{% endif %}\"\n"
        "    tables: [{name: orders, freshness: {warn_after: {count: 1, period: hour}}}]\n",
    )
    write(
        here,
        "analytics/models/models.yml",
        "models:\n  - name: m\n    description: \"{{ doc('m') }}\"\n",  # not ours: no sources
    )
    write(here, "fresh.yml", OWNERS + "imports:\n  - dbt: analytics\n    owner: data-platform\n")
    out = run("validate")
    assert out.exit_code == 2
    assert out.stderr.startswith(
        "analytics/models/sources.yml:4:15: Jinja that fresh cannot render without dbt: "
        "\"{% if target.name == 'prod' %}prod{% els\" (only env_var() and var() are read "
        "from a project folder); import the manifest instead"
    )


def test_the_same_source_from_two_packages_gets_the_package_prefix(here: Path) -> None:
    dbt_project(here, "a", "shop_a", SOURCES)
    dbt_project(here, "b", "shop_b", SOURCES.replace("count: 2", "count: 3"))
    write(
        here,
        "fresh.yml",
        OWNERS + "imports:\n"
        "  - {dbt: a, owner: data-platform}\n  - {dbt: b, owner: data-platform}\n",
    )
    got = results()
    assert set(got) == {"shop_a.shop.orders", "shop_b.shop.orders"}
    assert got["shop_b.shop.orders"]["error_after_seconds"] == 3 * 3600
    assert got["shop_a.shop.orders"]["status"] == "fresh"
    assert got["shop_a.shop.orders"]["origin"] == {
        "file": "a/models/sources.yml",
        "line": 8,
        "node": "source.shop_a.shop.orders",
    }


def test_a_checks_contract_of_the_same_name_replaces_the_imported_one(here: Path) -> None:
    dbt_project(here, "a", "shop", SOURCES)
    write(here, "fresh.yml", OWNERS + "imports:\n  - {dbt: a, owner: data-platform}\n")
    write(
        here,
        "checks/mine.yml",
        "contracts:\n  - name: shop.orders\n    owner: data-platform\n"
        "    table: raw.orders\n    column: _loaded_at\n    error_after: 10m\n",
    )
    out = run("validate")
    assert out.exit_code == 0, out.output
    assert (
        "a/models/sources.yml:8:9: warning: source.shop.shop.orders: imported contract "
        "'shop.orders' is replaced by the one at checks/mine.yml:2:5"
    ) in out.stderr
    got = results()["shop.orders"]
    assert got["status"] == "stale" and got["origin"]["file"] == "checks/mine.yml"


def test_a_source_without_owner_is_an_error_naming_it(here: Path) -> None:
    dbt_project(here, "a", "shop", SOURCES)
    write(here, "fresh.yml", OWNERS + "imports:\n  - dbt: a\n")
    out = run("validate")
    assert out.exit_code == 2
    assert "a/models/sources.yml:8:9: source.shop.shop.orders: no owner" in out.stderr


def test_a_missing_import_is_reported_where_it_is_written(here: Path) -> None:
    write(here, "fresh.yml", OWNERS + "imports:\n  - dbt: nowhere/\n  - datacontract: c/*.yaml\n")
    out = run("validate")
    assert out.exit_code == 2
    assert "fresh.yml:5:5: imports: dbt: no such file or folder: nowhere/" in out.stderr
    assert "fresh.yml:6:5: imports: datacontract: no file matches c/*.yaml" in out.stderr


# --- data contracts -------------------------------------------------------------------------

DCS = """\
dataContractSpecification: 1.1.0
id: orders-latest
info:
  title: Orders Latest
  version: 2.0.0
  owner: checkout-team
  contact:
    name: John Doe (Data Product Owner)
    email: john.doe@example.com
servers:
  production:
    type: postgres
    host: localhost
    port: 5432
    database: postgres
    schema: public
  archive:
    type: local
    path: ./lake/{model}/*.csv
    format: csv
models:
  orders:
    description: One record per order. Includes cancelled and deleted orders.
    type: table
    fields:
      order_id: {type: text, required: true, unique: true}
      order_timestamp: {type: timestamp, required: true}
servicelevels:
  freshness:
    description: The age of the youngest row in a table.
    threshold: 25h
    timestampField: orders.order_timestamp
  frequency:
    description: Data is delivered once a day
    type: batch
    interval: daily
    cron: 0 0 * * *
"""

ODCS = """\
apiVersion: v3.0.2
kind: DataContract
id: 53581432-6c55-4ba2-a65f-72344a91553a
name: seller_payments_v1
version: 1.1.0
status: active
domain: seller
dataProduct: payments
servers:
  - server: my-postgres
    type: postgres
    host: localhost
    port: 5432
    database: pypl-edw
    schema: public
schema:
  - name: tbl
    physicalName: tbl_1
    physicalType: table
    properties:
      - {name: txn_ref_dt, physicalType: date}
      - {name: updated_at, physicalType: timestamp}
slaDefaultElement: tbl.txn_ref_dt
slaProperties:
  - property: latency
    value: 4
    unit: d
    element: tbl.txn_ref_dt
  - property: generalAvailability
    value: 2022-05-12T09:30:10-08:00
  - property: retention
    value: 3
    unit: y
    element: tbl.txn_ref_dt
  - property: Freshness
    value: 30
    unit: minutes
    element: tbl.updated_at
  - property: latency
    value: 99
    unit: percent
"""


def test_data_contracts_of_both_standards_are_checked(here: Path) -> None:
    write(here, "contracts/orders.yaml", DCS)
    write(here, "contracts/payments.yaml", ODCS)
    write(
        here,
        "fresh.yml",
        "warehouses:\n  main: {url: 'duckdb:///warehouse.duckdb'}\n"
        + OWNERS
        + "imports:\n  - datacontract: contracts/*.yaml\n    owner: data-platform\n"
        "    servers: {production: main, my-postgres: main}\n",
    )
    got = results()
    orders = got["orders-latest.orders"]
    assert orders["status"] == "fresh"  # 1h old against 25h
    assert orders["owner"] == "checkout-team"
    assert orders["error_after_seconds"] == 25 * 3600
    assert orders["metadata"]["version"] == "2.0.0"
    assert orders["origin"] == {
        "file": "contracts/orders.yaml",
        "line": 30,
        "node": "orders-latest.servicelevels.freshness",
    }
    cid = "53581432-6c55-4ba2-a65f-72344a91553a"
    latency = got[f"{cid}.tbl.txn_ref_dt"]
    assert latency["status"] == "stale"  # 2026-11-26 is more than 4 days before AT
    assert latency["owner"] == "data-platform"  # ODCS v3.0 has no team.name
    assert got[f"{cid}.tbl.updated_at"]["status"] == "fresh"
    assert len(got) == 3  # generalAvailability, retention and percent entries are ignored


def test_a_dcs_contract_on_a_file_server_becomes_a_files_contract(here: Path) -> None:
    write(here, "contracts/orders.yaml", DCS)
    write(here, "lake/orders/2026-12-01.csv", "order_id,order_timestamp\n1,2026-12-01 10:00:00\n")
    landed = 1796119200  # 2026-12-01T10:00:00Z: written before --at
    os.utime(here / "lake/orders/2026-12-01.csv", (landed, landed))
    write(
        here,
        "fresh.yml",
        OWNERS + "imports:\n  - datacontract: contracts/*.yaml\n    servers: {archive: main}\n",
    )
    got = results()["orders-latest.orders"]
    assert got["last_update"] == "2026-12-01T10:00:00Z"
    out = run("import", "datacontract", "contracts/*.yaml", "--server", "archive=main")
    assert out.exit_code == 0, out.output
    assert "files: ./lake/orders/*.csv" in out.stdout
    assert "schedule: 0 0 * * *" in out.stdout


MALFORMED_DCS = DCS.replace("threshold: 25h", "threshold: 25 hours").replace(
    "timestampField: orders.order_timestamp", "timestampField: order_timestamp"
)
MALFORMED_ODCS = ODCS.replace("unit: minutes", "unit: fortnights").replace(
    "    element: tbl.txn_ref_dt\n  - property: generalAvailability",
    "    element: nope.x\n  - property: generalAvailability",
)


def test_malformed_data_contracts_give_position_accurate_errors(here: Path) -> None:
    write(here, "contracts/orders.yaml", MALFORMED_DCS)
    write(here, "contracts/payments.yaml", MALFORMED_ODCS)
    write(here, "fresh.yml", OWNERS + "imports:\n  - datacontract: contracts/*.yaml\n")
    out = run("validate")
    assert out.exit_code == 2
    lines = out.stderr.splitlines()
    assert (
        "contracts/orders.yaml:31:16: servicelevels.freshness.threshold: cannot read "
        "'25 hours' (use e.g. 25h, 1d12h, PT25H or P1DT12H)"
    ) in lines
    assert (
        "contracts/orders.yaml:32:21: servicelevels.freshness.timestampField: expected model.field"
    ) in lines
    assert (
        "contracts/payments.yaml:28:14: slaProperties[0]: element 'nope.x': no schema "
        "object 'nope' (schema: tbl)"
    ) in lines
    assert (
        "contracts/payments.yaml:37:11: slaProperties: unknown unit 'fortnights' "
        "(d/day/days, h/hr/hour/hours, m/min/minute/minutes)"
    ) in lines
