"""Every database but local DuckDB files, through SQLAlchemy 2.

Engines are cached per warehouse (URL, pool size, timeout, timezone); every connection is
made read-only when it is opened (PostgreSQL `default_transaction_read_only`, SQLite
`mode=ro` + `PRAGMA query_only`, MySQL/MariaDB `SET SESSION TRANSACTION READ ONLY`; DuckDB
through duckdb_engine gets the locked configuration of monitor.sources.duck_guard) and
gets the per-query timeout the database supports (PostgreSQL `statement_timeout`, MySQL
`max_execution_time`, MariaDB `max_statement_time`; SQLite only waits `timeout` for locks).
Reads run on up to `max_connections` threads. On PostgreSQL and Snowflake, table+column
reads go in chunked statements (batching.py); a chunk that fails is read again contract by
contract, so only the broken contract gets `error`.
"""

from __future__ import annotations

import math
import queue
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config.settings import Warehouse
from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading
from monitor.sources import cost
from monitor.sources.asof import cut_table
from monitor.sources.base import ReadContext, describe, error_reading, resolve_path
from monitor.sources.duck_guard import LOCKED, locked_config
from monitor.sources.sql import batching
from monitor.sources.sql.reads import glot, quote_part, quoter, sql_for
from monitor.sources.sql.shared import statement
from monitor.sources.sql.tagging import counting_cursor, label_bigquery_jobs, tag_and_count

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_ENGINES: dict[tuple[str, str, int, float, str, str, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def read_batch(url: str, contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per contract, from the warehouse at `url`."""
    wh = ctx.warehouse_config
    started = time.monotonic()
    try:
        engine = engine_for(url, wh, ctx.settings.base_dir, ctx.warehouse)
    except Exception as exc:
        why = f"cannot connect: {describe(exc)}"
        return [error_reading(c, why, time.monotonic() - started) for c in contracts]
    if ctx.as_of is not None:
        backend = url.split(":", 1)[0].split("+", 1)[0]
        quote = quoter(engine)
        contracts = [cut_table(c, backend, ctx.as_of, wh.timezone, quote) for c in contracts]
    readings: list[Reading] = []
    planned: list[tuple[Contract, str]] = []
    for contract in contracts:
        try:
            planned.append((contract, sql_for(engine, contract)))
        except SourceError as exc:
            readings.append(error_reading(contract, str(exc)))

    tasks = batching.tasks(engine, planned, wh.timezone)
    readings.extend(_run(tasks, wh.max_connections, ctx))
    return readings


def explain(url: str, contract: Contract, ctx: ReadContext) -> str:
    """The SQL `contract` runs on this warehouse (built without connecting)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    shown = u.render_as_string(hide_password=True)
    dialect = u.get_dialect()()
    sql = statement(contract, lambda p, q: quote_part(dialect, p, q), dialect=glot(dialect.name))
    return f"-- warehouse {ctx.warehouse} ({shown}), read-only\n{sql}"


# --- Engines --------------------------------------------------------------------------------


def engine_for(url: str, wh: Warehouse, base_dir: Path, name: str | None = None) -> Engine:
    """The cached engine of warehouse `name`, read-only, tagged, with its timeout; every
    statement it sends is counted for `name` (monitor.sources.cost)."""
    key = (
        url,
        str(base_dir),
        wh.max_connections,
        wh.timeout.total_seconds(),
        wh.timezone,
        wh.query_tag,
        name or "",
    )
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = _create(url, wh, base_dir, name)
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests and benches; `fresh serve` keeps its engines for the
    life of the process, a reload included)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


def _create(url: str, wh: Warehouse, base_dir: Path, name: str | None = None) -> Engine:
    import sqlite3
    from urllib.parse import quote

    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import QueuePool

    u = make_url(url)
    backend = u.get_backend_name()
    timeout = wh.timeout.total_seconds()
    pool: dict[str, Any] = {
        "pool_size": wh.max_connections,
        "max_overflow": 0,
        "pool_timeout": timeout,
        "pool_pre_ping": backend != "sqlite",
    }
    if backend == "sqlite":
        path = u.database or ""
        if path in ("", ":memory:"):
            raise SourceError("an in-memory SQLite database has nothing to read")
        uri = "file:" + quote(resolve_path(path, base_dir)) + "?mode=ro"

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
            cost.count(name)
            conn.execute("PRAGMA query_only = 1")
            return conn

        engine = create_engine("sqlite://", creator=connect, poolclass=QueuePool, **pool)
        tag_and_count(engine, name, cost.tag_comment(wh.query_tag))
        return engine

    connect_args: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    # psycopg: every statement goes through a cursor that counts it (set-up, pings and the
    # dialect's first-connect queries included); sessions in autocommit send no BEGIN or
    # ROLLBACK around each read, and no hstore lookup runs.
    counted_by_cursor = backend == "postgresql" and u.get_driver_name() == "psycopg"
    if backend == "postgresql":
        connect_args["application_name"] = wh.query_tag
    if counted_by_cursor:
        connect_args["cursor_factory"] = counting_cursor(name)
        extra = {"isolation_level": "AUTOCOMMIT", "use_native_hstore": False}
    if backend == "snowflake":
        connect_args["session_parameters"] = {"QUERY_TAG": wh.query_tag}
    if backend == "postgresql" and u.get_driver_name() in ("psycopg", "psycopg2"):
        connect_args["connect_timeout"] = max(1, math.ceil(timeout))
    if backend in ("mysql", "mariadb") and u.get_driver_name() in ("pymysql", "mysqldb"):
        connect_args["connect_timeout"] = max(1, math.ceil(timeout))
    if backend == "duckdb":
        # duckdb_engine lets the URL's query override `config`: drop what the lock sets.
        u = u.difference_update_query([k for k in LOCKED if k in u.query])
        connect_args["config"] = locked_config()
    try:
        engine = create_engine(u, connect_args=connect_args, **pool, **extra)
    except TypeError:  # a dialect whose pool takes no size (e.g. NullPool)
        engine = create_engine(u, connect_args=connect_args, **extra)
    if backend == "snowflake" and "connection_name" in u.query:
        _toml_rules(engine)
    if backend == "bigquery":
        label_bigquery_jobs(engine, wh.query_tag)
        # A read returns one row: the BigQuery Storage API (another package) would not
        # speed it up, and the client warns of its absence on every result otherwise.
        warnings.filterwarnings(
            "ignore", message="Cannot create BigQuery Storage client", category=UserWarning
        )
    if not counted_by_cursor:
        # PostgreSQL, Snowflake and BigQuery tag the session or job themselves.
        tagged = backend not in ("postgresql", "snowflake", "bigquery")
        tag_and_count(engine, name, cost.tag_comment(wh.query_tag) if tagged else "")
    setup = _session_setup(backend, timeout, wh.timezone)
    if setup:

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            for sql, optional in setup:
                if not counted_by_cursor:
                    cost.count(name)
                try:
                    cur.execute(sql)
                except Exception:
                    if not optional:
                        raise
            cur.close()
            dbapi_conn.commit()

    return engine


def _toml_rules(engine: Engine) -> None:
    """`?connection_name=` names a connections.toml entry: let its host, port and protocol
    rule. snowflake-sqlalchemy derives `<account>.snowflakecomputing.com:443` from the URL
    and the connector lets those arguments override the entry's (found against fakesnow)."""
    from sqlalchemy import event

    @event.listens_for(engine, "do_connect")
    def _drop_derived(_dialect: Any, _rec: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        for key in ("host", "port"):
            cparams.pop(key, None)


def _session_setup(backend: str, timeout: float, tz: str) -> list[tuple[str, bool]]:
    """(statement, optional) run on every new connection: read-only, timeout, timezone."""
    ms = max(1, int(timeout * 1000))
    tz_literal = "'" + tz.replace("'", "''") + "'"
    if backend == "postgresql":
        return [
            ("SET default_transaction_read_only = on", False),
            (f"SET statement_timeout = {ms}", False),
            # Naive values a query casts to timestamptz are read in the warehouse's zone.
            (f"SET TimeZone = {tz_literal}", False),
        ]
    if backend in ("mysql", "mariadb"):
        # TIMESTAMP columns come back as naive wall times of the session zone: make it the
        # warehouse's (named zones need the server's time zone tables; UTC always works).
        zone = "'+00:00'" if tz in ("UTC", "Etc/UTC") else tz_literal
        return [
            ("SET SESSION TRANSACTION READ ONLY", False),
            (f"SET time_zone = {zone}", True),
            (f"SET SESSION max_execution_time = {ms}", True),  # MySQL
            (f"SET SESSION max_statement_time = {timeout:g}", True),  # MariaDB
        ]
    return []


def _run(tasks: list[Callable[[], list[Reading]]], threads: int, ctx: ReadContext) -> list[Reading]:
    """Run `tasks` on up to `threads` daemon threads; deliver readings as they finish."""
    if not tasks:
        return []
    todo: queue.SimpleQueue[Callable[[], list[Reading]]] = queue.SimpleQueue()
    for task in tasks:
        todo.put(task)
    out: list[Reading] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            try:
                task = todo.get_nowait()
            except queue.Empty:
                return
            readings = task()
            with lock:
                out.extend(readings)
            ctx.deliver(*readings)

    workers = [
        threading.Thread(target=work, daemon=True, name="fresh-sql")
        for _ in range(max(1, min(threads, len(tasks))))
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out
