"""`table` + `column` (+ `where`) and `query` sources: the newest timestamp in a warehouse.

DuckDB files are read through DuckDB's compiled module directly (duckdb_reader.py: no
SQLAlchemy import, one read-only open per batch); every other database through SQLAlchemy 2
(alchemy.py). Both import their driver only when they first connect.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading
from monitor.sources.asof import cut_table
from monitor.sources.base import ReadContext, error_reading
from monitor.sources.sql import duckdb_reader
from monitor.sources.sql.shared import duck_quote, duckdb_path, statement


def read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """Read `table`+`column` and `query` contracts of one warehouse."""
    try:
        url = ctx.warehouse_config.url
    except SourceError as exc:
        return [error_reading(c, str(exc)) for c in contracts]
    duck = duckdb_path(url, ctx)
    if ctx.as_of is not None:
        return _read_as_of(url, duck, contracts, ctx)
    if duck is not None:
        return duckdb_reader.read_batch(duck, contracts, ctx)
    return _alchemy_read(url, contracts, ctx)


def _read_as_of(
    url: str, duck: str | None, contracts: Sequence[Contract], ctx: ReadContext
) -> list[Reading]:
    """`--at T`: each column is read cut at T in SQL (monitor.sources.asof); a `query`'s
    value after T becomes an error in the dispatcher, which applies that rule to all. The
    SQLAlchemy reader cuts with its dialect's quoting, once it has the engine."""
    assert ctx.as_of is not None
    if duck is None:
        return _alchemy_read(url, contracts, ctx)
    tz = ctx.warehouse_config.timezone
    cut = [cut_table(c, "duckdb", ctx.as_of, tz, duck_quote) for c in contracts]
    return duckdb_reader.read_batch(duck, cut, ctx)


def explain(contract: Contract, ctx: ReadContext) -> str:
    """The SQL one read of `contract` runs, and where."""
    url = ctx.warehouse_config.url
    duck = duckdb_path(url, ctx)
    if duck is not None:
        sql = statement(contract, duck_quote, dialect="duckdb")
        return f"-- warehouse {ctx.warehouse} (DuckDB file {duck}, opened read-only)\n{sql}"
    return _alchemy_explain(url, contract, ctx)


# The SQLAlchemy reader is imported only for a warehouse that is no DuckDB file: a check of
# DuckDB tables never loads it (nor, through it, SQLAlchemy).


def _alchemy_read(url: str, contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    from monitor.sources.sql import alchemy

    return alchemy.read_batch(url, contracts, ctx)


def _alchemy_explain(url: str, contract: Contract, ctx: ReadContext) -> str:
    from monitor.sources.sql import alchemy

    return alchemy.explain(url, contract, ctx)
