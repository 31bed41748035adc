"""Backfilled histories of `table` + `column` learn contracts (SPEC 13): the distinct minutes
of the column's values with the contract's `where`, in (since, now], one read-only query per
contract.

A local DuckDB file is opened once per batch through the `duckdb` module (read-only, locked,
as the reader does); every other database goes through the SQL source's cached read-only
engine, so PostgreSQL, SQLite, MariaDB/MySQL, Snowflake, BigQuery… get the same statement in
their own words (`minutes_sql`). Both bounds are the `--at` cut of monitor.sources.asof, so
naive values are read in the warehouse's timezone exactly as a check reads them; DuckDB and
PostgreSQL hand back epoch seconds, the others a minute as the database writes it, read by
monitor.sources.timestamps like any value.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from monitor.core.errors import SourceError
from monitor.core.models import ColumnFormat, Contract, TableSource
from monitor.sources import cost
from monitor.sources.asof import cut_condition
from monitor.sources.base import Backfilled, Due, ReadContext, describe
from monitor.sources.sql.shared import Quote, duck_quote, duckdb_path, from_clause, quoted
from monitor.sources.timestamps import TimestampError, to_utc

# Backends whose minute comes back as epoch seconds (no time zone in the result at all).
_EPOCH_BACKENDS = ("duckdb", "postgresql")


def backfill(due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
    """The update times of each due contract of one warehouse (`ctx.warehouse`), up to
    `ctx.now`; a contract that cannot be read gets the reason instead."""
    try:
        wh = ctx.warehouse_config
    except SourceError as exc:
        return [(c, str(exc)) for c, _ in due]
    duck = duckdb_path(wh.url, ctx)
    try:
        if duck is not None:
            return _duckdb(duck, due, ctx)
        return _alchemy(wh.url, due, ctx)
    except Exception as exc:  # cannot connect: every contract of the warehouse says why
        why = f"cannot connect: {describe(exc)}"
        return [(c, why) for c, _ in due]


def minutes_sql(
    contract: Contract,
    backend: str,
    quote: Quote,
    since: datetime,
    until: datetime,
    tz: str,
    dialect: str = "",
) -> str:
    """The one statement that backfills `contract`: the distinct minutes of its column in
    (since, until], with its `where`. `backend` is SQLAlchemy's dialect name (duckdb,
    postgresql, sqlite, mysql, mariadb, snowflake, bigquery…); `dialect` sqlglot's name."""
    src = contract.source
    if not isinstance(src, TableSource) or src.column is None:
        raise SourceError(f"{contract.name}: only a table + column backfills from SQL")
    column = quoted(src.column, quote, parts=1)
    lo = cut_condition(column, backend, since, tz, src.column_format)
    hi = cut_condition(column, backend, until, tz, src.column_format)
    cut = f"NOT ({lo}) AND ({hi})"
    where = f"({src.where}) AND {cut}" if src.where else cut
    minute = minute_of(column, backend, src.column_format)
    return f"SELECT DISTINCT {minute}{from_clause(replace(src, where=where), quote, dialect)}"


def minute_of(column: str, backend: str, column_format: ColumnFormat | None) -> str:
    """SQL for the minute a value falls in, as this backend can say it."""
    if column_format is not None:
        unit = 60 if column_format == "epoch_s" else 60_000
        if backend == "sqlite":  # no FLOOR without the math extension; values are positive
            return f"CAST({column} / {unit} AS INTEGER) * {unit}"
        return f"FLOOR({column} / {unit}) * {unit}"
    if backend == "duckdb":
        return f"floor(epoch(CAST({column} AS TIMESTAMPTZ)) / 60) * 60"
    if backend == "postgresql":
        return f"floor(extract(epoch FROM CAST({column} AS timestamptz)) / 60) * 60"
    if backend == "sqlite":  # wall time as written (the `--at` cut reads it the same way)
        return f"strftime('%Y-%m-%d %H:%M', {column})"
    if backend in ("mysql", "mariadb"):  # a wall time in the session's (warehouse's) zone
        return f"DATE_FORMAT({column}, '%Y-%m-%d %H:%i')"
    if backend == "bigquery":
        return f"TIMESTAMP_TRUNC(CAST({column} AS TIMESTAMP), MINUTE)"
    if backend == "mssql":
        return f"DATEADD(minute, DATEDIFF(minute, 0, {column}), 0)"
    if backend == "oracle":
        return f"TRUNC({column}, 'MI')"
    # Snowflake, Redshift, Trino, Databricks, ClickHouse… all spell it this way.
    return f"DATE_TRUNC('minute', {column})"


def times_of(
    rows: Sequence[Sequence[Any]],
    column_format: ColumnFormat | None,
    backend: str,
    tz: str,
    since: datetime,
    until: datetime,
) -> list[float]:
    """The minutes a backfill read, as sorted epoch seconds (values in (since, until]); a
    value that is no time is skipped (the check itself reports such a column)."""
    fmt = column_format
    if fmt is None and backend in _EPOCH_BACKENDS:
        fmt = "epoch_s"
    lo, hi = since.timestamp(), until.timestamp()
    out = []
    for row in rows:
        try:
            at = to_utc(row[0], tz=tz, column_format=fmt)
        except TimestampError:
            continue
        # The SQL cut the values; a minute that began before `since` holds one after it.
        if at is not None and lo - 60 < at.timestamp() <= hi:
            out.append(at.timestamp())
    return sorted(out)


def _duckdb(path: str, due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
    from monitor.sources.sql.duckdb_reader import _open  # read-only, waits out a writer's lock

    wh = ctx.warehouse_config
    con = _open(path, time.monotonic() + ctx.timeout, ctx.timeout)
    tag = cost.tag_comment(wh.query_tag)
    out: list[Backfilled] = []
    try:
        # The cut casts naive values in the session zone: make it the warehouse's.
        cost.count(ctx.warehouse)
        con.execute(f"SET TimeZone = '{wh.timezone.replace(chr(39), '')}'")
        for c, since in due:
            try:
                sql = minutes_sql(c, "duckdb", duck_quote, since, ctx.now, wh.timezone, "duckdb")
                cost.count(ctx.warehouse)
                rows = con.execute(tag + sql).fetchall()
                out.append((c, times_of(rows, _format(c), "duckdb", wh.timezone, since, ctx.now)))
            except Exception as exc:
                out.append((c, describe(exc)))
    finally:
        con.close()
    return out


def _alchemy(url: str, due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
    from concurrent.futures import ThreadPoolExecutor

    from monitor.sources.sql.alchemy import engine_for
    from monitor.sources.sql.reads import escape, glot, quoter

    wh = ctx.warehouse_config
    engine = engine_for(url, wh, ctx.settings.base_dir, ctx.warehouse)
    backend = engine.dialect.name
    quote = quoter(engine)

    def one(item: Due) -> Backfilled:
        c, since = item
        try:
            sql = minutes_sql(c, backend, quote, since, ctx.now, wh.timezone, glot(backend))
            with engine.connect() as conn:
                rows = conn.exec_driver_sql(escape(engine, sql)).fetchall()
            return (c, times_of(rows, _format(c), backend, wh.timezone, since, ctx.now))
        except Exception as exc:
            return (c, describe(exc))

    # On the warehouse's own connections (`max_connections`), as its reads run.
    threads = max(1, min(wh.max_connections, len(due)))
    if threads == 1:
        return [one(item) for item in due]
    with ThreadPoolExecutor(threads, thread_name_prefix="fresh-backfill") as pool:
        return list(pool.map(one, due))


def _format(contract: Contract) -> ColumnFormat | None:
    src = contract.source
    return src.column_format if isinstance(src, TableSource) else None
