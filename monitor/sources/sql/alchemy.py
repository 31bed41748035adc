"""Every database but local DuckDB files, through SQLAlchemy 2.

Engines are cached per warehouse (URL, pool size, timeout, timezone); every connection is
made read-only when it is opened (PostgreSQL `default_transaction_read_only`, SQLite
`mode=ro` + `PRAGMA query_only`, MySQL/MariaDB `SET SESSION TRANSACTION READ ONLY`; DuckDB
through duckdb_engine gets the locked configuration of monitor.sources.duck_guard) and
gets the per-query timeout the database supports (PostgreSQL `statement_timeout`, MySQL
`max_execution_time`, MariaDB `max_statement_time`; SQLite only waits `timeout` for locks).
Reads run on up to `max_connections` threads. On PostgreSQL, table+column reads go in
UNION ALL batches (measured faster over the network, bench/bench_sql_batching.py); a batch
that fails is read again contract by contract, so only the broken contract gets `error`.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config.settings import Warehouse
from monitor.config.sqlguard import dialect_for_url
from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading, TableSource
from monitor.sources import cost
from monitor.sources.base import ReadContext, describe, error_reading, resolve_path
from monitor.sources.duck_guard import LOCKED, locked_config
from monitor.sources.sql.shared import (
    Quote,
    from_clause,
    quoted,
    reading_from_rows,
    reading_from_value,
    statement,
)
from monitor.sources.sql.tagging import counting_cursor, tag_and_count

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

PG_BATCH = 100  # contracts per UNION ALL on PostgreSQL

_ENGINES: dict[tuple[str, str, int, float, str, str, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()

_PG_TIME_TYPES = ("timestamp without time zone", "timestamp with time zone", "date")
_PG_NUMBER_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")
_PG_TEXT_TYPES = ("text", "character varying", "character", "name", "unknown")


def read_batch(url: str, contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per contract, from the warehouse at `url`."""
    wh = ctx.warehouse_config
    started = time.monotonic()
    try:
        engine = engine_for(url, wh, ctx.settings.base_dir, ctx.warehouse)
    except Exception as exc:
        why = f"cannot connect: {describe(exc)}"
        return [error_reading(c, why, time.monotonic() - started) for c in contracts]
    backend = engine.dialect.name
    readings: list[Reading] = []
    planned: list[tuple[Contract, str]] = []
    for contract in contracts:
        try:
            planned.append((contract, _sql(engine, contract)))
        except SourceError as exc:
            readings.append(error_reading(contract, str(exc)))

    tasks: list[Callable[[], list[Reading]]] = []
    if backend == "postgresql":
        tables = [(c, s) for c, s in planned if isinstance(c.source, TableSource)]
        others = [(c, s) for c, s in planned if not isinstance(c.source, TableSource)]
        for i in range(0, len(tables), PG_BATCH):
            chunk = tables[i : i + PG_BATCH]
            tasks.append(lambda chunk=chunk: _pg_batch(engine, chunk, wh.timezone))  # type: ignore[misc]
    else:
        others = planned
    for contract, sql in others:
        tasks.append(lambda c=contract, s=sql: [_read_one(engine, c, s, wh.timezone)])  # type: ignore[misc]
    readings.extend(_run(tasks, wh.max_connections, ctx))
    return readings


def explain(url: str, contract: Contract, ctx: ReadContext) -> str:
    """The SQL `contract` runs on this warehouse (built without connecting)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    shown = u.render_as_string(hide_password=True)
    dialect = u.get_dialect()()
    sql = statement(contract, lambda p, q: _quote(dialect, p, q), dialect=_glot(dialect.name))
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
    if not counted_by_cursor:
        tagged = backend not in ("postgresql", "snowflake")  # those tag the session itself
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


# --- Reads ----------------------------------------------------------------------------------


def _quote(dialect: Any, part: str, was_quoted: bool) -> str:
    prep = dialect.identifier_preparer
    return prep.quote_identifier(part) if was_quoted else prep.quote(part)  # type: ignore[no-any-return]


def _sql(engine: Engine, contract: Contract, cast: str | None = None) -> str:
    quote: Quote = lambda p, q: _quote(engine.dialect, p, q)  # noqa: E731
    sql = statement(contract, quote, cast=cast, dialect=_glot(engine.dialect.name))
    return _escape(engine, sql)


def _glot(backend: str) -> str:
    """sqlglot's name for a SQLAlchemy backend ("" when sqlglot has none)."""
    return dialect_for_url(f"{backend}://")


def _escape(engine: Engine, sql: str) -> str:
    # The driver sees the text with no parameters; format-style drivers still read %.
    if engine.dialect.paramstyle in ("format", "pyformat"):
        return sql.replace("%", "%%")
    return sql


def _read_one(engine: Engine, contract: Contract, sql: str, tz: str) -> Reading:
    t0 = time.perf_counter()
    try:
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.exec_driver_sql(sql).fetchmany(2)]
            rows = _exact_text(engine, conn, contract, rows)
    except Exception as exc:
        return error_reading(contract, _why(exc), time.perf_counter() - t0)
    return reading_from_rows(contract, rows, tz, time.perf_counter() - t0)


def _exact_text(
    engine: Engine, conn: Connection, contract: Contract, rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Text columns compare as text: re-read them cast where the database can, exactly."""
    src = contract.source
    if not (isinstance(src, TableSource) and rows and isinstance(rows[0][0], str)):
        return rows
    cast = _text_cast(engine.dialect.name, src)
    if cast is None:
        return rows  # SQLite/MySQL: ISO text of one format and offset sorts as time
    return [tuple(r) for r in conn.exec_driver_sql(_sql(engine, contract, cast)).fetchmany(2)]


def _text_cast(backend: str, src: TableSource) -> str | None:
    if backend not in ("postgresql", "duckdb"):
        return None
    if src.column_format:
        return "DECIMAL(38,6)"
    return "timestamptz" if backend == "postgresql" else "TIMESTAMPTZ"


def _pg_batch(engine: Engine, chunk: list[tuple[Contract, str]], tz: str) -> list[Reading]:
    """Up to PG_BATCH max() reads in one UNION ALL; per contract again if it fails."""
    if len(chunk) == 1:
        return [_read_one(engine, chunk[0][0], chunk[0][1], tz)]
    t0 = time.perf_counter()
    parts = []
    quote: Quote = lambda p, q: _quote(engine.dialect, p, q)  # noqa: E731
    for k, (contract, _) in enumerate(chunk):
        src = contract.source
        assert isinstance(src, TableSource) and src.column is not None
        col = quoted(src.column, quote, parts=1)
        tail = _escape(engine, from_clause(src, quote, "postgres"))
        parts.append(
            f"SELECT {k} AS k, CAST(max({col}) AS text) AS v, "
            f"pg_typeof(max({col}))::text AS t{tail}"
        )
    sql = "\nUNION ALL\n".join(parts)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(sql).fetchall()
            elapsed = (time.perf_counter() - t0) / len(chunk)
            readings = []
            for k, value, typ in rows:
                contract = chunk[k][0]
                readings.append(_pg_value(engine, conn, contract, value, typ, tz, elapsed))
            return readings
    except Exception:
        # One broken contract (missing table or column) fails the whole UNION ALL.
        return [_read_one(engine, c, s, tz) for c, s in chunk]


def _pg_value(
    engine: Engine,
    conn: Connection,
    contract: Contract,
    value: str | None,
    typ: str,
    tz: str,
    elapsed: float,
) -> Reading:
    if value is None:
        return Reading(contract=contract.name, duration_seconds=elapsed)
    if typ in _PG_TIME_TYPES:
        return reading_from_value(contract, value, tz, elapsed)
    if typ in _PG_NUMBER_TYPES:
        return reading_from_value(contract, Decimal(value), tz, elapsed)
    if typ in _PG_TEXT_TYPES or typ.startswith(("character", "varchar")):
        rows = _exact_text(engine, conn, contract, [(value,)])
        return reading_from_rows(contract, rows, tz, elapsed)
    return error_reading(contract, f"the column's type {typ} is not a timestamp", elapsed)


def _why(exc: BaseException) -> str:
    text = describe(exc)
    name = type(getattr(exc, "orig", None) or exc).__name__
    timeouts = ("statement timeout", "max_statement_time", "max_execution_time")
    if name == "QueryCanceled" or any(t in text for t in timeouts):
        return f"timed out: {text}"
    return text


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
