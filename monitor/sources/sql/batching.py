"""Column reads of a round in chunked statements (PostgreSQL and Snowflake).

One rule for every batching database: the table+column contracts of a warehouse go in
chunks of BATCH, each chunk one statement; a chunk that fails (a missing table or column
fails the whole statement) is read again contract by contract (reads.read_one), so only the
broken contract gets `error`. Queries are never batched. What differs per database is the
statement's shape, a `Shape`:

- PostgreSQL: a UNION ALL of `max(col)` cast to text with `pg_typeof`, one row per contract
  (measured faster over the network, bench/bench_sql_batching.py).
- Snowflake: one row whose columns are scalar subqueries, `SELECT (SELECT max(c) FROM t …)
  AS c0, …`: each column keeps its own type, so the connector hands back the same
  TIMESTAMP_NTZ/LTZ/TZ, DATE or NUMBER values a read of its own would (a UNION ALL would
  coerce them to one type).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.core.models import Contract, Reading, TableSource
from monitor.sources.base import error_reading
from monitor.sources.sql.reads import escape, exact_text, quoter, read_one
from monitor.sources.sql.shared import from_clause, quoted, reading_from_rows, reading_from_value

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BATCH = 100  # contracts per statement

Planned = tuple[Contract, str]  # a contract and the statement a read of its own sends
Task = Callable[[], list[Reading]]


@dataclass(frozen=True)
class Shape:
    """How one database batches: the statement of a chunk, and its rows as Readings."""

    sql: Callable[[Engine, list[Planned]], str]
    readings: Callable[
        [Engine, Connection, list[Planned], Sequence[Sequence[Any]], str, float], list[Reading]
    ]


def tasks(engine: Engine, planned: Sequence[Planned], tz: str) -> list[Task]:
    """The reads of `planned` as tasks: chunks where the database batches, else one each."""
    shape = _SHAPES.get(engine.dialect.name)
    batched: list[Planned] = []
    alone: list[Planned] = []
    for p in planned:
        (batched if shape is not None and isinstance(p[0].source, TableSource) else alone).append(p)
    out: list[Task] = []
    if shape is not None:
        for i in range(0, len(batched), BATCH):
            chunk = batched[i : i + BATCH]
            out.append(lambda chunk=chunk: _read_chunk(engine, shape, chunk, tz))  # type: ignore[misc]
    for contract, sql in alone:
        out.append(lambda c=contract, s=sql: [read_one(engine, c, s, tz)])  # type: ignore[misc]
    return out


def _read_chunk(engine: Engine, shape: Shape, chunk: list[Planned], tz: str) -> list[Reading]:
    """One statement for the chunk; per contract again if it fails."""
    if len(chunk) == 1:
        return [read_one(engine, chunk[0][0], chunk[0][1], tz)]
    t0 = time.perf_counter()
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(shape.sql(engine, chunk)).fetchall()
            elapsed = (time.perf_counter() - t0) / len(chunk)
            return shape.readings(engine, conn, chunk, rows, tz, elapsed)
    except Exception:
        # One broken contract (missing table or column) fails the whole statement.
        return [read_one(engine, c, s, tz) for c, s in chunk]


# --- PostgreSQL: UNION ALL, values as text with their type name -----------------------------

_PG_TIME_TYPES = ("timestamp without time zone", "timestamp with time zone", "date")
_PG_NUMBER_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")
_PG_TEXT_TYPES = ("text", "character varying", "character", "name", "unknown")


def _pg_sql(engine: Engine, chunk: list[Planned]) -> str:
    parts = []
    quote = quoter(engine)
    for k, (contract, _) in enumerate(chunk):
        src = contract.source
        assert isinstance(src, TableSource) and src.column is not None
        col = quoted(src.column, quote, parts=1)
        tail = escape(engine, from_clause(src, quote, "postgres"))
        parts.append(
            f"SELECT {k} AS k, CAST(max({col}) AS text) AS v, "
            f"pg_typeof(max({col}))::text AS t{tail}"
        )
    return "\nUNION ALL\n".join(parts)


def _pg_readings(
    engine: Engine,
    conn: Connection,
    chunk: list[Planned],
    rows: Sequence[Sequence[Any]],
    tz: str,
    elapsed: float,
) -> list[Reading]:
    return [_pg_value(engine, conn, chunk[k][0], v, t, tz, elapsed) for k, v, t in rows]


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
        rows = exact_text(engine, conn, contract, [(value,)])
        return reading_from_rows(contract, rows, tz, elapsed)
    return error_reading(contract, f"the column's type {typ} is not a timestamp", elapsed)


# --- Snowflake: one row of scalar subqueries, each keeping its column's type ---------------


def _wide_sql(engine: Engine, chunk: list[Planned]) -> str:
    # Each planned statement is already the escaped `SELECT max(col) FROM t [WHERE (…)]`.
    return "SELECT\n" + ",\n".join(f"({sql}) AS c{k}" for k, (_, sql) in enumerate(chunk))


def _wide_readings(
    engine: Engine,
    conn: Connection,
    chunk: list[Planned],
    rows: Sequence[Sequence[Any]],
    tz: str,
    elapsed: float,
) -> list[Reading]:
    (row,) = rows
    out = []
    for (contract, _), value in zip(chunk, row, strict=True):
        # The same path as a read of its own: text re-read where the database casts it.
        values = exact_text(engine, conn, contract, [(value,)])
        out.append(reading_from_rows(contract, values, tz, elapsed))
    return out


_SHAPES = {
    "postgresql": Shape(_pg_sql, _pg_readings),
    "snowflake": Shape(_wide_sql, _wide_readings),
}
