"""`run_log` contracts kept in warehouse tables: DuckDB, SQLite and an Airflow-shaped
`dag_run` table on a real PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from monitor.config.settings import Warehouse
from monitor.core.models import RunLogSource
from monitor.sources.run_log import reader as run_log
from monitor.sources.sql.alchemy import dispose_engines
from tests.integration.source_helpers import contract, ctx_for

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NAIVE = T0.replace(tzinfo=None)
AIRFLOW = dict(
    table="airflow_test.dag_run",
    preset="airflow",
    job_column="dag_id",
    status_column="state",
    success=("success",),
    failure=("failed",),
    time_column="end_date",
)


@pytest.fixture(autouse=True)
def _engines() -> Iterator[None]:
    yield
    dispose_engines()


def job_runs_duckdb(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA ops")
    con.execute("CREATE TABLE ops.job_runs (job TEXT, status TEXT, finished_at TIMESTAMP)")
    rows = [
        ("export_orders", "success", NAIVE - timedelta(hours=5)),
        ("export_orders", "failed", NAIVE - timedelta(hours=4)),
        ("export_orders", "error", NAIVE - timedelta(hours=3)),
        ("export_orders", "running", None),
        ("export_orders", "success", NAIVE - timedelta(hours=9)),
        ("load_users", "success", NAIVE),
        ("load_users", "queued", NAIVE + timedelta(minutes=5)),
        ("never_ok", "failed", NAIVE),
        ("never_ok", "weird", NAIVE),
    ]
    con.executemany("INSERT INTO ops.job_runs VALUES (?, ?, ?)", rows)
    con.close()


def test_it_reads_many_jobs_from_a_duckdb_log_table_in_one_batch(tmp_path: Path) -> None:
    job_runs_duckdb(tmp_path / "wh.duckdb")
    ctx = ctx_for(tmp_path, main=Warehouse(url="duckdb:///wh.duckdb"))
    names = ["export_orders", "load_users", "never_ok", "absent"]
    contracts = [contract(RunLogSource(job=j, table="ops.job_runs"), name=j) for j in names]
    readings = {r.contract: r for r in run_log.read_batch(contracts, ctx)}
    assert readings["export_orders"].last_update == T0 - timedelta(hours=5)
    assert readings["export_orders"].detail == "2 failed runs since the last success"
    assert readings["load_users"].last_update == T0
    assert readings["load_users"].detail == "since the last success: 'queued' (1)"
    assert readings["never_ok"].last_update is None
    assert readings["never_ok"].detail == (
        "no successful run of job 'never_ok' in ops.job_runs; 1 failed run in the log; "
        "other statuses seen: 'weird' (1) (success is [success])"
    )
    assert readings["absent"].detail == "no run of job 'absent' in ops.job_runs"
    assert all(r.error is None for r in readings.values())
    # The file is not held: a loader can write right after the read.
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("INSERT INTO ops.job_runs VALUES ('x', 'success', now())")
    con.close()


def test_it_reads_a_sqlite_log_table_with_iso_text_times(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "runs.db")
    db.execute("CREATE TABLE runs (job TEXT, status TEXT, finished_at TEXT)")
    db.executemany(
        "INSERT INTO runs VALUES (?, ?, ?)",
        [
            ("j", "success", "2026-11-20T08:00:00+00:00"),
            ("j", "failed", "2026-11-20T09:00:00+00:00"),
        ],
    )
    db.commit()
    db.close()
    ctx = ctx_for(tmp_path, main=Warehouse(url="sqlite:///runs.db"))
    [reading] = run_log.read_batch([contract(RunLogSource(job="j", table="runs"))], ctx)
    assert reading.error is None, reading.error
    assert reading.last_update == T0
    assert reading.detail == "1 failed run since the last success"


def test_a_missing_log_table_is_an_error_naming_it(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "wh.duckdb")).close()
    ctx = ctx_for(tmp_path, main=Warehouse(url="duckdb:///wh.duckdb"))
    [reading] = run_log.read_batch([contract(RunLogSource(job="j", table="ops.runs"))], ctx)
    assert reading.error is not None
    assert reading.error.startswith("cannot read ops.runs: ")


@pytest.fixture
def airflow(pg_url: str) -> Iterator[str]:
    """An Airflow-shaped dag_run table (the columns Airflow 2 creates) on real PostgreSQL."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS airflow_test CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA airflow_test")
        conn.exec_driver_sql(
            """CREATE TABLE airflow_test.dag_run (
                id SERIAL PRIMARY KEY,
                dag_id VARCHAR(250) NOT NULL,
                queued_at TIMESTAMPTZ,
                execution_date TIMESTAMPTZ NOT NULL,
                start_date TIMESTAMPTZ,
                end_date TIMESTAMPTZ,
                state VARCHAR(50),
                run_id VARCHAR(250) NOT NULL,
                creating_job_id INTEGER,
                external_trigger BOOLEAN,
                run_type VARCHAR(50) NOT NULL,
                conf BYTEA,
                data_interval_start TIMESTAMPTZ,
                data_interval_end TIMESTAMPTZ,
                last_scheduling_decision TIMESTAMPTZ,
                dag_hash VARCHAR(32),
                log_template_id INTEGER,
                updated_at TIMESTAMPTZ,
                clear_number INTEGER NOT NULL DEFAULT 0,
                UNIQUE (dag_id, run_id)
            )"""
        )
        runs = [
            ("export_orders", "success", T0 - timedelta(days=1)),
            ("export_orders", "success", T0),
            ("export_orders", "failed", T0 + timedelta(hours=1)),
            ("export_orders", "running", None),
            ("refresh_mv", "failed", T0),
        ]
        for i, (dag, state, end) in enumerate(runs):
            start = (end or T0 + timedelta(hours=2)) - timedelta(minutes=10)
            conn.execute(
                sa.text(
                    "INSERT INTO airflow_test.dag_run (dag_id, execution_date, start_date, "
                    "end_date, state, run_id, run_type, external_trigger) VALUES "
                    "(:dag, :start, :start, :end, :state, :run_id, 'scheduled', false)"
                ),
                {"dag": dag, "start": start, "end": end, "state": state, "run_id": f"r{i}"},
            )
    engine.dispose()
    yield pg_url


def test_the_airflow_preset_reads_dag_run_on_postgresql(airflow: str, tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path, main=Warehouse(url=airflow))
    contracts = [
        contract(RunLogSource(job=j, **AIRFLOW), name=j)  # type: ignore[arg-type]
        for j in ("export_orders", "refresh_mv")
    ]
    readings = {r.contract: r for r in run_log.read_batch(contracts, ctx)}
    assert readings["export_orders"].error is None, readings["export_orders"].error
    assert readings["export_orders"].last_update == T0
    assert readings["export_orders"].detail == "1 failed run since the last success"
    assert readings["refresh_mv"].last_update is None
    assert readings["refresh_mv"].detail == (
        "no successful run of job 'refresh_mv' in airflow_test.dag_run; 1 failed run in the log"
    )


def test_explain_shows_the_sql_with_bound_parameters(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path, main=Warehouse(url="postgresql+psycopg://u:secret@db/x"))
    text = run_log.explain(contract(RunLogSource(job="j", **AIRFLOW)), ctx)  # type: ignore[arg-type]
    assert "FROM airflow_test.dag_run r LEFT JOIN" in text
    assert "dag_id IN (:j0)" in text
    assert "secret" not in text


def test_it_reads_a_log_table_on_mariadb(mariadb_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS ops")
        conn.exec_driver_sql("CREATE DATABASE ops")
        conn.exec_driver_sql(
            "CREATE TABLE ops.job_runs (job VARCHAR(100), status VARCHAR(20), finished_at DATETIME)"
        )
        conn.execute(
            sa.text("INSERT INTO ops.job_runs VALUES (:j, :s, :t)"),
            [
                {"j": "export_orders", "s": "success", "t": NAIVE},
                {"j": "export_orders", "s": "failed", "t": NAIVE + timedelta(hours=1)},
                {"j": "export_orders", "s": "running", "t": None},
            ],
        )
    engine.dispose()
    url = mariadb_url.rsplit("/", 1)[0] + "/ops"
    ctx = ctx_for(tmp_path, main=Warehouse(url=url))
    source = RunLogSource(job="export_orders", table="ops.job_runs")
    [reading] = run_log.read_batch([contract(source)], ctx)
    assert reading.error is None, reading.error
    assert reading.last_update == T0
    assert reading.detail == "1 failed run since the last success"
