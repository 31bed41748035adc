"""How the SQL readers name tables and columns: "quoted" parts exactly as written; plain
parts folded as the database folds unquoted names (issue 15: Snowflake stores them
upper-case). Oracle's dialect ships with SQLAlchemy and folds like Snowflake's (both set
`requires_name_normalize`); Snowflake's own dialect is checked on SQL text by
tests/integration/test_snowflake_names.py, in the venv that has it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.dialects import mysql, oracle, postgresql

from monitor.core.models import Contract, Expectation, TableSource
from monitor.sources.asof import cut_table
from monitor.sources.sql.reads import quote_part
from monitor.sources.sql.shared import quoted


def _name(dialect: object, name: str) -> str:
    return quoted(name, lambda p, q: quote_part(dialect, p, q))


@pytest.mark.parametrize(
    ("name", "sql"),
    [
        ("orders", "orders"),
        ("ORDERS", "orders"),  # the same table: unquoted names are case-insensitive
        ("MyTable", "mytable"),  # not the case-sensitive "MyTable"
        ("shop.Sales.Orders", "shop.sales.orders"),
        ("order", '"ORDER"'),  # a reserved word, quoted as the name the database stores
        ('"MyTable"', '"MyTable"'),
        ('"Db"."Sch"."Tbl"', '"Db"."Sch"."Tbl"'),
        ('shop."My ""Big"" Table"', 'shop."My ""Big"" Table"'),
        ('"ORDERS"', '"ORDERS"'),
    ],
)
def test_upper_folding_databases_read_plain_names_folded_and_quoted_ones_exactly(
    name: str, sql: str
) -> None:
    assert _name(oracle.dialect(), name) == sql


def test_other_databases_keep_sqlalchemy_quoting() -> None:
    pg = postgresql.dialect()
    assert _name(pg, "orders") == "orders"
    assert _name(pg, "User") == '"User"'  # as before: a mixed-case plain name is kept
    assert _name(pg, '"Mixed Case"') == '"Mixed Case"'
    assert _name(mysql.dialect(), '"My`Table"') == "`My``Table`"


def _contract(column: str) -> Contract:
    return Contract(
        name="c",
        owner="o",
        warehouse="w",
        source=TableSource(table="t", column=column),
        expectation=Expectation(warn_after=timedelta(hours=1)),
    )


@pytest.mark.parametrize(
    ("backend", "dialect", "column", "named"),
    [
        ("snowflake", oracle.dialect(), '"LoadedAt"', '"LoadedAt" <= CAST('),
        ("snowflake", oracle.dialect(), "loaded_at", "loaded_at <= CAST("),
        ("snowflake", oracle.dialect(), "LoadedAt", "loadedat <= CAST("),
        ("postgresql", postgresql.dialect(), '"Loaded At"', 'CAST("Loaded At" AS TIMESTAMPTZ)'),
        # A plain mixed-case name is quoted by the read on PostgreSQL, so the cut quotes it too
        # (bare, PostgreSQL would fold it to a column `loadedat` that does not exist).
        ("postgresql", postgresql.dialect(), "LoadedAt", 'CAST("LoadedAt" AS TIMESTAMPTZ)'),
        ("mysql", mysql.dialect(), '"LoadedAt"', "`LoadedAt` <= '"),  # "…" is a string on MySQL
    ],
)
def test_the_as_of_cut_names_the_column_as_the_read_does(
    backend: str, dialect: object, column: str, named: str
) -> None:
    at = datetime(2026, 11, 27, 12, tzinfo=UTC)
    quote = lambda p, q: quote_part(dialect, p, q)  # noqa: E731 - the read's own Quote
    src = cut_table(_contract(column), backend, at, "UTC", quote).source
    assert isinstance(src, TableSource) and src.where is not None
    assert named in src.where, src.where
