"""What the SQL readers share: identifier quoting, the SQL text, the run-time guard on SQL
fragments, and turning the value read into a Reading (the readers: reader.py dispatches to
duckdb_reader.py or alchemy.py; metadata.py and run_log/table.py build on this too).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.config.sqldeny import host_reach
from monitor.config.sqlguard import Quote as Quote  # re-exported: the readers take it from here
from monitor.config.sqlguard import split_identifier
from monitor.core.errors import SourceError
from monitor.core.models import Contract, QuerySource, Reading, TableSource
from monitor.sources.base import ReadContext, error_reading
from monitor.sources.sql.duckdb_handles import duckdb_file
from monitor.sources.timestamps import TimestampError, to_utc

__all__ = ["split_identifier"]  # its home is config/sqlguard.py (validation uses it too)


def duckdb_path(url: str, ctx: ReadContext) -> str | None:
    """The file of a `duckdb:///path` URL (relative to fresh.yml's folder), else None."""
    return duckdb_file(url, ctx.settings.base_dir)


# --- Identifiers ----------------------------------------------------------------------------


def duck_quote(part: str, was_quoted: bool) -> str:
    """DuckDB quoting: always double quotes (DuckDB matches names case-insensitively)."""
    return '"' + part.replace('"', '""') + '"'


def quoted(name: str, quote: Quote, *, parts: int = 4) -> str:
    """A dotted name, each part validated and quoted by `quote`."""
    return ".".join(quote(p, q) for p, q in split_identifier(name, parts=parts))


# --- SQL text -------------------------------------------------------------------------------


def check_fragment(sql: str, what: str, dialect: str = "") -> None:
    """Refuse at run time what config validation should have refused already.

    One statement only (no `;` outside quotes and comments) and balanced parentheses, so
    a `where` cannot close the query around it; no call that reaches past the warehouse's
    tables (monitor.config.sqldeny, for this sqlglot dialect). The read-only connection is the
    other lock.
    """
    hit = host_reach(sql, dialect)
    if hit is not None:
        raise SourceError(f"{what}: refused, {hit.message()}")
    depth, i, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            end = sql.find(ch, i + 1)
            while end >= 0 and sql[end + 1 : end + 2] == ch:
                end = sql.find(ch, end + 2)
            if end < 0:
                raise SourceError(f"{what}: unterminated quote")
            i = end + 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise SourceError(f"{what}: unterminated comment")
            i = end + 2
            continue
        if ch == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if m:
                end = sql.find(m.group(0), i + len(m.group(0)))
                if end < 0:
                    raise SourceError(f"{what}: unterminated $-quote")
                i = end + len(m.group(0))
                continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SourceError(f"{what}: unbalanced parentheses")
        elif ch == ";":
            raise SourceError(f"{what}: only one statement is allowed (found ';')")
        i += 1
    if depth != 0:
        raise SourceError(f"{what}: unbalanced parentheses")


def _strip_query(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def statement(
    contract: Contract, quote: Quote, *, cast: str | None = None, dialect: str = ""
) -> str:
    """The SELECT one read of `contract` runs; `cast` wraps the column (`CAST(c AS …)`).

    `dialect` (sqlglot's name, "" = any) picks which calls are refused as host-reaching.
    """
    src = contract.source
    if isinstance(src, QuerySource):
        query = _strip_query(src.sql)
        check_fragment(query, "query", dialect)
        # As a subquery it can only be one SELECT, whatever the driver's protocol allows.
        return f"SELECT * FROM (\n{query}\n) AS fresh_query"
    if not isinstance(src, TableSource) or src.column is None:
        raise SourceError(f"{contract.name}: not a table+column or query source")
    column, tail = table_parts(src, quote, dialect)
    if cast is not None:
        column = f"CAST({column} AS {cast})"
    return max_select(column, tail)


def table_parts(src: TableSource, quote: Quote, dialect: str = "") -> tuple[str, str]:
    """The quoted column and the ` FROM table [WHERE (where)]` of a table read, validated
    (a reader that reads many at once builds its SQL from them, each quoted once)."""
    assert src.column is not None, "a table read has a column"
    return quoted(src.column, quote, parts=1), from_clause(src, quote, dialect)


def max_select(column: str, tail: str) -> str:
    """The SELECT of one table read, from `table_parts`."""
    return f"SELECT max({column}){tail}"


def from_clause(src: TableSource, quote: Quote, dialect: str = "") -> str:
    """` FROM table [WHERE (where)]` of a table source, validated and quoted."""
    sql = f" FROM {quoted(src.table, quote)}"
    if src.where:
        check_fragment(src.where, "where", dialect)
        sql += f" WHERE (\n{src.where}\n)"
    return sql


def column_format(contract: Contract) -> str | None:
    """The contract's `column_format` (epoch_s / epoch_ms), if any."""
    src = contract.source
    return src.column_format if isinstance(src, TableSource) else None


def reading_from_rows(
    contract: Contract, rows: Sequence[Sequence[object]], tz: str, duration: float
) -> Reading:
    """Turn the rows a read returned into a Reading (no rows or NULL = no data)."""
    if isinstance(contract.source, QuerySource):
        if len(rows) > 1:
            return error_reading(
                contract,
                "the query returned more than one row; it must return one timestamp",
                duration,
            )
        if rows and len(rows[0]) != 1:
            return error_reading(
                contract,
                f"the query returned {len(rows[0])} columns; it must return one timestamp",
                duration,
            )
    value = rows[0][0] if rows else None
    return reading_from_value(contract, value, tz, duration)


def reading_from_value(contract: Contract, value: object, tz: str, duration: float) -> Reading:
    """A Reading holding `value` as aware UTC (or an error saying why it is not a time)."""
    try:
        when = to_utc(value, tz=tz, column_format=column_format(contract))
    except TimestampError as exc:
        return error_reading(contract, str(exc), duration)
    return Reading(contract=contract.name, last_update=when, duration_seconds=duration)
