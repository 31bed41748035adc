"""One read of one contract through a SQLAlchemy engine, and the SQL text it sends.

alchemy.py runs these for contracts that are not batched; batching.py builds its chunked
statements from the same text and falls back to these, contract by contract, when a chunk
fails, so a batched and an unbatched read turn a value into a Reading the same way.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from monitor.config.sqlguard import dialect_for_url
from monitor.core.models import Contract, Reading, TableSource
from monitor.sources.base import describe, error_reading
from monitor.sources.sql.shared import Quote, reading_from_rows, statement

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


def quote_part(dialect: Any, part: str, was_quoted: bool) -> str:
    """One name part as `dialect` needs it: a "quoted" part is kept exactly as written
    (always quoted); a plain one is quoted only where the dialect must (a reserved word, a
    character it does not allow bare).

    Where the database stores unquoted names upper-case (Snowflake, Oracle: the dialects
    with `requires_name_normalize`), a plain part means that upper-cased name, as it would
    in the user's own SQL: `LoadedAt` is LOADEDAT, never the case-sensitive "LoadedAt"
    SQLAlchemy would quote for a mixed-case name; a plain reserved word (`order`) is sent
    as "ORDER", the name Snowflake stores for it.
    """
    prep = dialect.identifier_preparer
    if was_quoted:
        return prep.quote_identifier(part)  # type: ignore[no-any-return]
    if getattr(dialect, "requires_name_normalize", False):
        bare = prep.quote(part.lower())  # lower case is SQLAlchemy's case-insensitive name
        if not bare.startswith(prep.initial_quote):
            return bare  # type: ignore[no-any-return]
        return prep.quote_identifier(part.upper())  # type: ignore[no-any-return]
    return prep.quote(part)  # type: ignore[no-any-return]


def quoter(engine: Engine) -> Quote:
    """The Quote of `engine`'s dialect."""
    return lambda p, q: quote_part(engine.dialect, p, q)


def sql_for(engine: Engine, contract: Contract, cast: str | None = None) -> str:
    """The statement one read of `contract` sends, escaped for the driver."""
    sql = statement(contract, quoter(engine), cast=cast, dialect=glot(engine.dialect.name))
    return escape(engine, sql)


def glot(backend: str) -> str:
    """sqlglot's name for a SQLAlchemy backend ("" when sqlglot has none)."""
    return dialect_for_url(f"{backend}://")


def escape(engine: Engine, sql: str) -> str:
    """`sql` as the driver must see it: sent with no parameters, a format-style driver
    still reads % (psycopg, the Snowflake connector, PyMySQL)."""
    if engine.dialect.paramstyle in ("format", "pyformat"):
        return sql.replace("%", "%%")
    return sql


def read_one(engine: Engine, contract: Contract, sql: str, tz: str) -> Reading:
    """Run one contract's statement `sql` on its own connection."""
    t0 = time.perf_counter()
    try:
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.exec_driver_sql(sql).fetchmany(2)]
            rows = exact_text(engine, conn, contract, rows)
    except Exception as exc:
        return error_reading(contract, why(exc), time.perf_counter() - t0)
    return reading_from_rows(contract, rows, tz, time.perf_counter() - t0)


def exact_text(
    engine: Engine, conn: Connection, contract: Contract, rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Text columns compare as text: re-read them cast where the database can, exactly."""
    src = contract.source
    if not (isinstance(src, TableSource) and rows and isinstance(rows[0][0], str)):
        return rows
    cast = _text_cast(engine.dialect.name, src)
    if cast is None:
        return rows  # SQLite/MySQL: ISO text of one format and offset sorts as time
    return [tuple(r) for r in conn.exec_driver_sql(sql_for(engine, contract, cast)).fetchmany(2)]


def _text_cast(backend: str, src: TableSource) -> str | None:
    if backend not in ("postgresql", "duckdb"):
        return None
    if src.column_format:
        return "DECIMAL(38,6)"
    return "timestamptz" if backend == "postgresql" else "TIMESTAMPTZ"


def why(exc: BaseException) -> str:
    """The error a failed read reports (timeouts say so)."""
    text = describe(exc)
    name = type(getattr(exc, "orig", None) or exc).__name__
    timeouts = ("statement timeout", "max_statement_time", "max_execution_time")
    if name == "QueryCanceled" or any(t in text for t in timeouts):
        return f"timed out: {text}"
    return text
