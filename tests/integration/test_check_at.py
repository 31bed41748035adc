"""`fresh check --at T` reads every source as it stood at T (SPEC 4).

Each source that records when things happened holds data from both before and after T; the
verdict must be the one a user would have seen at T: never a negative age, never "fresh"
because of a row, file, run or ping that came later. A `query` whose value lies after T
cannot be cut and is an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from monitor.cli.app import app
from monitor.config.settings import Warehouse
from monitor.sources import read_contracts
from monitor.store import Store
from tests.integration.sql_helpers import query, settings, table

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AT = "2026-11-24T10:00:00Z"
H = timedelta(hours=1)

FRESH_YML = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
  lite:
    url: sqlite:///lite.db
state:
  url: sqlite:///state.db
owners:
  ops: {notify: []}
"""

CHECKS_YML = """\
defaults: {owner: ops, warehouse: main, error_after: 1h}
contracts:
  - {name: ts, table: shop.orders, column: loaded_at}
  - {name: tstz, table: shop.events, column: seen_at}
  - {name: day, table: shop.days, column: d, error_after: 2d}
  - {name: epoch, table: shop.epochs, column: s, column_format: epoch_s}
  - {name: text, table: shop.texts, column: iso}
  - {name: filtered, table: shop.orders, column: loaded_at, where: "source = 'web'"}
  - {name: sqlite_text, table: orders, column: loaded_at, warehouse: lite}
  - {name: q_before, query: "SELECT TIMESTAMP '2026-11-24 09:30:00'"}
  - {name: q_after, query: "SELECT max(loaded_at) FROM shop.orders"}
  - {name: dropped, files: "drops/*.csv"}
  - {name: drop_rows, files: "drops/*.csv", column: seen_at}
  - {name: runs, run_log: {file: "runs/*.jsonl", job: export}}
  - {name: runs_table, run_log: {table: shop.job_runs, job: export}}
  - {name: dbt_orders, run_log: {preset: dbt, job: orders, file: "dbt/*/run_results.json"}}
  - {name: nightly, heartbeat: {}}
"""


def ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_project(base: Path) -> None:
    (base / "checks").mkdir()
    (base / "fresh.yml").write_text(FRESH_YML)
    (base / "checks/all.yml").write_text(CHECKS_YML)
    con = duckdb.connect(str(base / "warehouse.duckdb"))
    before, after = T - 30 * timedelta(minutes=1), T + 2 * H
    con.execute(
        f"""
        CREATE SCHEMA shop;
        CREATE TABLE shop.orders (source TEXT, loaded_at TIMESTAMP);
        INSERT INTO shop.orders VALUES ('web', '{ts(T - 3 * H)}'), ('pos', '{ts(before)}'),
            ('web', '{ts(after)}'), ('pos', '{ts(after)}');
        CREATE TABLE shop.events (seen_at TIMESTAMPTZ);
        INSERT INTO shop.events VALUES ('{ts(before)}+00'), ('{ts(after)}+00');
        CREATE TABLE shop.days (d DATE);
        INSERT INTO shop.days VALUES ('2026-11-23'), ('2026-11-25');
        CREATE TABLE shop.epochs (s BIGINT);
        INSERT INTO shop.epochs VALUES ({int(before.timestamp())}), ({int(after.timestamp())});
        CREATE TABLE shop.texts (iso TEXT);
        INSERT INTO shop.texts VALUES ('{iso(before)}'), ('{iso(after)}');
        CREATE TABLE shop.job_runs (job TEXT, status TEXT, finished_at TIMESTAMP);
        INSERT INTO shop.job_runs VALUES ('export', 'success', '{ts(before)}'),
            ('export', 'failed', '{ts(after)}'), ('export', 'success', '{ts(after + H)}');
        """
    )
    con.close()
    import sqlite3

    lite = sqlite3.connect(base / "lite.db")
    lite.execute("CREATE TABLE orders (loaded_at TEXT)")
    # Mixed shapes, as SQLite tables hold them: 'T' or ' ', with and without fractions.
    lite.executemany(
        "INSERT INTO orders VALUES (?)",
        [(iso(before),), (ts(after),), (ts(after) + ".5",)],
    )
    lite.commit()
    lite.close()
    drops = base / "drops"
    drops.mkdir()
    for name, written, at in (
        ("a.csv", before, before),
        ("b.csv", after, T - 5 * timedelta(minutes=1)),
    ):
        (drops / name).write_text(f"seen_at\n{ts(at)}\n")
        os.utime(drops / name, (written.timestamp(), written.timestamp()))
    (base / "runs").mkdir()
    (base / "runs/r.jsonl").write_text(
        "".join(
            json.dumps({"job": "export", "status": s, "finished_at": iso(t)}) + "\n"
            for s, t in (("success", before), ("failed", after), ("success", after + H))
        )
    )
    for i, (which, at) in enumerate((("build", before), ("build", after))):
        path = base / f"dbt/{i}/run_results.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(_run_results(which, at)))
    with Store.open("sqlite:///state.db", base) as store:
        store.record_ping("nightly", "success", before)
        store.record_ping("nightly", "start", after)


def _run_results(which: str, at: datetime) -> dict[str, Any]:
    step = {"name": "execute", "started_at": iso(at), "completed_at": iso(at)}
    return {
        "metadata": {"generated_at": iso(at), "dbt_version": "1.10.23"},
        "args": {"which": which},
        "results": [{"unique_id": "model.shop.orders", "status": "success", "timing": [step]}],
    }


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[Path]:
    write_project(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def check_at(at: str | None) -> dict[str, dict[str, Any]]:
    args = ["check", "--format", "json"] + (["--at", at] if at else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return {r["contract"]: r for r in json.loads(result.stdout)["results"]}


def test_every_source_that_records_time_is_read_as_of_t(project: Path) -> None:
    results = check_at(AT)
    half_hour_ago = iso(T - 30 * timedelta(minutes=1))
    for name in ("ts", "tstz", "epoch", "text", "sqlite_text", "runs", "runs_table", "dbt_orders"):
        got = results[name]
        assert (name, got["last_update"], got["status"], got["error"]) == (
            name,
            half_hour_ago,
            "fresh",
            None,
        )
        assert got["age_seconds"] == 1800.0
    assert results["filtered"]["last_update"] == iso(T - 3 * H)  # the web row by T
    assert results["filtered"]["status"] == "stale"
    assert results["day"]["last_update"] == "2026-11-23T00:00:00Z"
    assert results["q_before"]["status"] == "fresh"
    assert results["dropped"]["last_update"] == half_hour_ago  # b.csv was written after T
    assert results["drop_rows"]["last_update"] == half_hour_ago
    assert results["nightly"]["last_update"] == half_hour_ago
    assert results["nightly"]["status"] == "fresh"  # the /start after T had not happened


def test_a_query_whose_value_lies_after_t_cannot_be_evaluated(project: Path) -> None:
    got = check_at(AT)["q_after"]
    assert got["status"] == "error"
    assert got["error"] == (
        f"cannot evaluate as of {AT}: the value read, {iso(T + 2 * H)}, is after it"
    )


def test_without_at_the_newest_of_everything_is_read(project: Path) -> None:
    results = check_at(None)
    assert results["ts"]["last_update"] == iso(T + 2 * H)
    assert results["runs"]["last_update"] == iso(T + 3 * H)
    assert results["q_after"]["error"] is None


def test_nothing_by_t_is_no_data(project: Path) -> None:
    early = "2026-11-20T00:00:00Z"
    results = check_at(early)
    assert results["ts"]["last_update"] is None and results["ts"]["status"] == "stale"
    assert results["dropped"]["detail"] == f"no file matching drops/*.csv was written by {early}"
    assert results["nightly"]["detail"] == "no ping received yet"
    assert results["runs"]["detail"] == "no run of job 'export' in runs/*.jsonl"


# --- the cut on real PostgreSQL and MariaDB ----------------------------------------------


@pytest.fixture(scope="module")
def pg_at(pg_module_url: str) -> str:
    dsn = pg_module_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            f"""
            CREATE TABLE naive (at timestamp);
            INSERT INTO naive VALUES ('2026-11-24 10:30:00'), ('2026-11-24 11:30:00');
            CREATE TABLE aware (at timestamptz);
            INSERT INTO aware VALUES ('2026-11-24 10:30:00+01'), ('2026-11-24 12:00:00+01');
            CREATE TABLE days (d date);
            INSERT INTO days VALUES ('2026-11-24'), ('2026-11-25');
            CREATE TABLE texts (iso text);
            INSERT INTO texts VALUES ('{iso(T - H)}'), ('{iso(T + H)}');
            CREATE TABLE mixed ("LoadedAt" timestamptz);
            INSERT INTO mixed VALUES ('{iso(T - H)}'), ('{iso(T + H)}');
            """
        )
    return pg_module_url


def test_postgresql_columns_are_cut_at_t_in_the_warehouse_zone(pg_at: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=Warehouse(url=pg_at, timezone="Europe/Berlin"))
    contracts = [
        table("naive", "naive", "at"),
        table("aware", "aware", "at"),
        table("days", "days", "d"),
        table("texts", "texts", "iso"),
        table("mixed", "mixed", "LoadedAt"),  # read (and cut) as "LoadedAt", not loadedat
        query("q", "SELECT max(at) FROM aware"),
    ]
    got = read_contracts(contracts, s, T, as_of=T)
    # Berlin is UTC+1 in November: naive 10:30 is 09:30Z (by T), 11:30 is 10:30Z (after).
    assert got["naive"].last_update == T - timedelta(minutes=30)
    assert got["aware"].last_update == T - timedelta(minutes=30)
    assert got["days"].last_update == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert got["texts"].last_update == T - H
    assert got["mixed"].error is None and got["mixed"].last_update == T - H
    assert got["q"].error is not None and got["q"].error.startswith("cannot evaluate as of")


def test_mariadb_columns_are_cut_at_t(mariadb_url: str, tmp_path: Path) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS at_cut"))
        conn.execute(sa.text("CREATE TABLE at_cut (at DATETIME(6), d DATE)"))
        conn.execute(
            sa.text(
                "INSERT INTO at_cut VALUES ('2026-11-24 09:30:00', '2026-11-24'), "
                "('2026-11-24 10:00:00.5', '2026-11-25')"
            )
        )
    engine.dispose()
    s = settings(tmp_path, main=Warehouse(url=mariadb_url))
    got = read_contracts([table("at", "at_cut", "at"), table("d", "at_cut", "d")], s, T, as_of=T)
    assert got["at"].last_update == T - timedelta(minutes=30)
    assert got["d"].last_update == datetime(2026, 11, 24, tzinfo=UTC)


def test_a_metadata_read_after_t_cannot_be_evaluated(mariadb_url: str, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from monitor.core.models import Contract, Expectation, TableSource
    from monitor.sources.sql.alchemy import dispose_engines

    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS at_meta")
        conn.exec_driver_sql("CREATE TABLE at_meta (id INT) ENGINE=InnoDB")
        conn.exec_driver_sql("INSERT INTO at_meta VALUES (1)")  # update_time: now
    engine.dispose()
    s = settings(tmp_path, main=Warehouse(url=mariadb_url))
    meta = Contract(
        name="meta",
        owner="ops",
        warehouse="main",
        source=TableSource(table="at_meta"),
        expectation=Expectation(error_after=H),
    )
    try:
        earlier = datetime.now(UTC) - timedelta(days=1)
        got = read_contracts([meta], s, earlier, as_of=earlier)["meta"]
        assert got.last_update is None
        assert got.error is not None
        assert got.error.startswith(
            f"cannot evaluate as of {earlier.strftime('%Y-%m-%dT%H:%M:%SZ')}: the value read, "
        )
        now = datetime.now(UTC) + timedelta(seconds=5)
        assert read_contracts([meta], s, now, as_of=now)["meta"].error is None
    finally:
        dispose_engines()
