"""`table` without `column` on a real MariaDB: information_schema.tables.update_time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.config.settings import Warehouse
from monitor.core.models import Reading, TableSource
from monitor.sources.sql import metadata
from monitor.sources.sql.alchemy import dispose_engines
from tests.integration.source_helpers import contract, ctx_for


@pytest.fixture(autouse=True)
def _engines() -> Iterator[None]:
    yield
    dispose_engines()


@pytest.fixture(scope="module")
def shop(mariadb_url: str) -> str:
    """Database `shop` (and `crm`): written tables, a never-written one; URL to `shop`."""
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        for db in ("shop", "crm"):
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db}")
            conn.exec_driver_sql(f"CREATE DATABASE {db}")
        conn.exec_driver_sql("CREATE TABLE shop.orders (id INT PRIMARY KEY) ENGINE=InnoDB")
        conn.exec_driver_sql("CREATE TABLE shop.never_written (id INT) ENGINE=InnoDB")
        conn.exec_driver_sql("CREATE TABLE crm.leads (id INT) ENGINE=InnoDB")
        for i in range(40):
            conn.exec_driver_sql(f"CREATE TABLE shop.t{i:02} (id INT) ENGINE=InnoDB")
            conn.exec_driver_sql(f"INSERT INTO shop.t{i:02} VALUES ({i})")
        conn.exec_driver_sql("INSERT INTO shop.orders VALUES (1)")
        conn.exec_driver_sql("INSERT INTO crm.leads VALUES (1)")
    engine.dispose()
    return mariadb_url.rsplit("/", 1)[0] + "/shop"


def read(tmp_path: Path, url: str, *tables: str) -> dict[str, Reading]:
    ctx = ctx_for(tmp_path, main=Warehouse(url=url))
    contracts = [contract(TableSource(table=t), name=t) for t in tables]
    return {r.contract: r for r in metadata.read_batch(contracts, ctx)}


def test_update_time_is_the_last_update_across_schemas(shop: str, tmp_path: Path) -> None:
    before = datetime.now(UTC) - timedelta(minutes=10)  # the module fixture wrote them
    readings = read(tmp_path, shop, "orders", "shop.orders", "crm.leads")
    for name in ("orders", "shop.orders", "crm.leads"):
        r = readings[name]
        assert r.error is None, r.error
        assert r.last_update is not None
        assert before <= r.last_update <= datetime.now(UTC) + timedelta(seconds=5)


def test_a_write_moves_update_time(shop: str, tmp_path: Path) -> None:
    engine = sa.create_engine(shop)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS moving (id INT) ENGINE=InnoDB")
        conn.exec_driver_sql("INSERT INTO moving VALUES (1)")
        now_db = conn.exec_driver_sql("SELECT UNIX_TIMESTAMP()").scalar()
    engine.dispose()
    r = read(tmp_path, shop, "moving")["moving"]
    assert r.last_update is not None
    assert abs(r.last_update.timestamp() - float(now_db)) <= 5


def test_a_never_written_innodb_table_is_no_data_with_the_reason(shop: str, tmp_path: Path) -> None:
    r = read(tmp_path, shop, "never_written")["never_written"]
    assert r.error is None
    assert r.last_update is None
    assert r.detail == (
        "information_schema.tables.update_time has no time for never_written "
        "(InnoDB forgets update_time on restart until the next write)"
    )


def test_a_missing_table_is_an_error_naming_it(shop: str, tmp_path: Path) -> None:
    readings = read(tmp_path, shop, "nope", "orders")
    assert readings["nope"].error == (
        "table nope not found in information_schema.tables.update_time "
        "(missing, or not visible to this user)"
    )
    assert readings["orders"].error is None


def test_forty_contracts_are_read_by_one_statement(shop: str, tmp_path: Path) -> None:
    root = sa.create_engine(shop)

    def selects() -> int:
        with root.connect() as conn:
            row = conn.exec_driver_sql("SHOW GLOBAL STATUS LIKE 'Com_select'").one()
            return int(row[1])

    read(tmp_path, shop, "orders")  # the engine and its connection exist already
    start = selects()
    readings = read(tmp_path, shop, *[f"t{i:02}" for i in range(40)])
    used = selects() - start - 1  # minus the SHOW of the second selects() call
    root.dispose()
    assert all(r.last_update is not None for r in readings.values())
    assert used <= 2, used  # one statement (plus a pool pre-ping)


def test_warehouses_without_metadata_say_to_add_a_column(tmp_path: Path) -> None:
    r = read(tmp_path, "duckdb:///w.duckdb", "orders")["orders"]
    assert r.error == (
        "DuckDB keeps no last-modified time for tables: add `column:` "
        "(the newest value of a timestamp column is the last update)"
    )


def test_explain_shows_the_statement_and_its_parameters(shop: str, tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path, main=Warehouse(url=shop))
    text = metadata.explain(contract(TableSource(table="crm.leads")), ctx)
    assert "FROM information_schema.tables WHERE table_schema = :s0" in text
    assert ":s0 = 'crm'" in text and ":t0_0 = 'leads'" in text
