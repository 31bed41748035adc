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
    ("backend", "column", "named"),
    [
        ("snowflake", '"LoadedAt"', '"LoadedAt" <= CAST('),
        ("snowflake", "loaded_at", "loaded_at <= CAST("),
        ("postgresql", '"Loaded At"', 'CAST("Loaded At" AS TIMESTAMPTZ)'),
        ("mysql", '"LoadedAt"', "`LoadedAt` <= '"),  # double quotes are a string on MySQL
    ],
)
def test_the_as_of_cut_names_a_quoted_column_as_the_backend_reads_it(
    backend: str, column: str, named: str
) -> None:
    at = datetime(2026, 11, 27, 12, tzinfo=UTC)
    src = cut_table(_contract(column), backend, at, "UTC").source
    assert isinstance(src, TableSource) and src.where is not None
    assert named in src.where, src.where
