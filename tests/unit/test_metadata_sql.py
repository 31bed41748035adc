"""The metadata SQL for MySQL/MariaDB, Snowflake and BigQuery, checked on its text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.core.errors import SourceError
from monitor.core.models import Contract, Expectation, TableSource
from monitor.sources.sql.metadata import backend_of, build, unsupported


def c(table: str, name: str | None = None) -> Contract:
    return Contract(
        name=name or table,
        owner="ops",
        warehouse="main",
        source=TableSource(table=table),
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


def test_mysql_reads_every_table_in_one_statement_with_one_branch_per_schema() -> None:
    stmt = build("mysql", [c("shop.orders"), c("shop.customers"), c("crm.leads"), c("events")])
    assert stmt.sql == (
        "SELECT 0 AS branch, table_schema, table_name, UNIX_TIMESTAMP(update_time) AS updated "
        "FROM information_schema.tables WHERE table_schema = :s0 AND table_name IN (:t0_0, :t0_1)"
        "\nUNION ALL\n"
        "SELECT 1 AS branch, table_schema, table_name, UNIX_TIMESTAMP(update_time) AS updated "
        "FROM information_schema.tables WHERE table_schema = :s1 AND table_name IN (:t1_0)"
        "\nUNION ALL\n"
        "SELECT 2 AS branch, table_schema, table_name, UNIX_TIMESTAMP(update_time) AS updated "
        "FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (:t2_0)"
    )
    assert stmt.params == {
        "s0": "shop",
        "t0_0": "customers",
        "t0_1": "orders",
        "s1": "crm",
        "t1_0": "leads",
        "t2_0": "events",
    }


def test_names_are_bound_never_pasted_into_the_sql() -> None:
    stmt = build("mysql", [c('"sh\'op"."x; DROP TABLE y"')])
    assert "DROP" not in stmt.sql and "sh'op" not in stmt.sql
    assert stmt.params == {"s0": "sh'op", "t0_0": "x; DROP TABLE y"}


def test_snowflake_upper_cases_unquoted_names_and_queries_each_database() -> None:
    stmt = build(
        "snowflake",
        [c("analytics.raw.orders"), c('analytics.raw."MixedCase"'), c("public_tbl"), c("s.t")],
    )
    branches = stmt.sql.split("\nUNION ALL\n")
    assert branches[0] == (
        "SELECT 0 AS branch, table_schema, table_name, last_altered AS updated "
        'FROM "ANALYTICS".information_schema.tables '
        "WHERE (table_schema = :s0_0 AND table_name = :t0_0) "
        "OR (table_schema = :s0_1 AND table_name = :t0_1)"
    )
    assert {stmt.params["t0_0"], stmt.params["t0_1"]} == {"ORDERS", "MixedCase"}
    assert stmt.params["s0_0"] == "RAW"
    assert branches[1] == (
        "SELECT 1 AS branch, table_schema, table_name, last_altered AS updated "
        "FROM information_schema.tables "
        "WHERE (table_schema = :s1_0 AND table_name = :t1_0) "
        "OR (table_schema = CURRENT_SCHEMA() AND table_name = :t1_1)"
    )
    assert (stmt.params["s1_0"], stmt.params["t1_0"]) == ("S", "T")
    assert stmt.params["t1_1"] == "PUBLIC_TBL"


def test_bigquery_reads_the_datasets_tables_meta_table() -> None:
    stmt = build("bigquery", [c("my-proj.sales.orders"), c("my-proj.sales.refunds"), c("web.hits")])
    assert stmt.sql == (
        "SELECT 0 AS branch, dataset_id AS table_schema, table_id AS table_name, "
        "last_modified_time AS updated FROM `my-proj.sales.__TABLES__` "
        "WHERE table_id IN (:t0_0, :t0_1)"
        "\nUNION ALL\n"
        "SELECT 1 AS branch, dataset_id AS table_schema, table_id AS table_name, "
        "last_modified_time AS updated FROM `web.__TABLES__` WHERE table_id IN (:t1_0)"
    )
    assert stmt.params == {"t0_0": "orders", "t0_1": "refunds", "t1_0": "hits"}


def test_bigquery_needs_a_dataset_and_refuses_odd_project_names() -> None:
    with pytest.raises(SourceError, match=r"name it dataset\.table"):
        build("bigquery", [c("orders")])
    with pytest.raises(SourceError, match="invalid project or dataset"):
        build("bigquery", [c('"my`proj".sales.orders')])


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("mysql+pymysql://u@h/db", "mysql"),
        ("mariadb+mariadbconnector://u@h/db", "mysql"),
        ("snowflake://u@acct/db/schema", "snowflake"),
        ("bigquery://project/dataset", "bigquery"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
    ],
)
def test_the_backend_comes_from_the_url_scheme(url: str, backend: str) -> None:
    assert backend_of(url) == backend


def test_databases_without_table_metadata_suggest_a_column() -> None:
    assert unsupported("mysql+pymysql://u@h/db") is None
    why = unsupported("postgresql+psycopg://u@h/db")
    assert why is not None
    assert why.startswith("PostgreSQL keeps no last-modified time for tables: add `column:`")
    assert unsupported("duckdb:///w.duckdb") is not None
