"""Config-time SQL checks: identifiers, where expressions, read-only queries."""

from __future__ import annotations

import pytest

from monitor.config.sqlguard import (
    check_readonly_query,
    check_where,
    dialect_for_url,
    validate_identifier,
)


@pytest.mark.parametrize(
    "name", ["orders", "raw_shopify.orders", "db.schema.t", "my-proj.ds.t", "_loaded_at", "T1"]
)
def test_plain_dotted_identifiers_are_accepted(name: str):
    assert validate_identifier(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ('orders"', "contains a quote"),
        ("`orders`", "contains a quote"),
        ("[orders]", "contains a quote or bracket"),
        ("orders; drop table x", "contains ';'"),
        ("orders--x", "contains an SQL comment"),
        ("orders/*x*/", "contains an SQL comment"),
        ("my orders", "contains a space"),
        ("1orders", "is not a plain identifier"),
        ("a..b", "is not a plain identifier"),
        ("", "must be a non-empty name"),
    ],
)
def test_identifiers_that_would_need_pasting_are_refused(name: str, why: str):
    message = validate_identifier(name)
    assert message is not None and why in message


def test_a_column_is_one_name_without_dots():
    assert validate_identifier("a.b", dotted=False) is not None
    assert validate_identifier("loaded_at", dotted=False) is None


@pytest.mark.parametrize(
    "expr",
    [
        "source = 'web'",
        "a = 1 AND b IS NOT NULL",
        "(status IN ('a', 'b;c'))",
        "NOT deleted",
        "x LIKE 'a%'",
        "id IN (SELECT id FROM ok)",
        "flag"[:0] + "true",
    ],
)
def test_boolean_expressions_are_accepted_as_where(expr: str):
    assert check_where(expr, "postgres") is None


@pytest.mark.parametrize(
    ("expr", "why"),
    [
        ("a = 1; DROP TABLE t", "';' is not allowed"),
        ("DELETE FROM t", "not a statement"),
        ("SELECT 1", "not a statement"),
        ("loaded_at", "must be a boolean expression"),
        ("a = (", "cannot be parsed"),
        ("", "non-empty"),
    ],
)
def test_where_refuses_statements_and_non_booleans(expr: str, why: str):
    message = check_where(expr, "postgres")
    assert message is not None and why in message, message


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT max(ts) FROM t",
        "select max(ts) from t;",
        "WITH x AS (SELECT ts FROM t) SELECT max(ts) FROM x",
        "SELECT max(ts) FROM a UNION ALL SELECT max(ts) FROM b",
    ],
)
def test_one_select_is_a_readonly_query(sql: str):
    assert check_readonly_query(sql, "duckdb") is None


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("DELETE FROM t", "not DELETE"),
        ("INSERT INTO t VALUES (1)", "not INSERT"),
        ("UPDATE t SET a = 1", "not UPDATE"),
        ("CREATE TABLE t (a int)", "not CREATE"),
        ("DROP TABLE t", "not DROP"),
        ("SELECT 1; SELECT 2", "one statement, found 2"),
        ("SELECT * INTO t2 FROM t", "SELECT … INTO"),
        ("SELECT max(ts) FROM t FOR UPDATE", "takes locks"),
        ("WITH d AS (DELETE FROM t RETURNING ts) SELECT max(ts) FROM d", "DELETE is not a read"),
        ("VACUUM", "not VACUUM"),
    ],
)
def test_queries_that_write_or_are_several_are_refused(sql: str, why: str):
    message = check_readonly_query(sql, "postgres")
    assert message is not None and why in message, message


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("postgresql+psycopg://u@h/db", "postgres"),
        ("duckdb:///w.duckdb", "duckdb"),
        ("sqlite:///x.db", "sqlite"),
        ("mysql+pymysql://u@h/db", "mysql"),
        ("mariadb://u@h/db", "mysql"),
        ("snowflake://u@acct/db", "snowflake"),
        ("bigquery://project", "bigquery"),
        ("weird://x", ""),
    ],
)
def test_dialects_follow_the_url_scheme(url: str, dialect: str):
    assert dialect_for_url(url) == dialect


@pytest.mark.parametrize(
    "name",
    ['"MyTable"', '"Db"."Sch"."Tbl"', 'shop."Sales"."My Table"', '"a""b"', '"it\'s"', 'db."x"'],
)
def test_double_quoted_parts_are_accepted_where_quoting_is_allowed(name: str):
    assert validate_identifier(name, quoted_ok=True) is None
    assert validate_identifier(name) is not None  # elsewhere (files, run logs): plain only


@pytest.mark.parametrize(
    "name",
    [
        '"MyTable',  # unclosed
        '"a"b',  # text after the closing quote
        '""',  # empty
        '"a"."b"."c"."d"."e"',  # five parts
        '"a\nb"',  # a control character
        "'MyTable'",
        "`MyTable`",
        '"a"; drop table x',
    ],
)
def test_malformed_quoted_names_are_refused(name: str):
    message = validate_identifier(name, quoted_ok=True)
    assert message is not None and '"double quotes"' in message


def test_a_quoted_column_is_one_part():
    assert validate_identifier('"Loaded At"', dotted=False, quoted_ok=True) is None
    assert validate_identifier('"a"."b"', dotted=False, quoted_ok=True) is not None
