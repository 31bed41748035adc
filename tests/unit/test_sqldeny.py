"""Host-reaching calls in a contract's SQL: refused at validate with their position."""

from __future__ import annotations

import pytest

from monitor.config.sqldeny import host_reach
from monitor.config.sqlguard import check_readonly_query, check_where
from monitor.core.models import QuerySource
from monitor.sources.sql.shared import duck_quote, statement
from tests.integration.sql_helpers import query, table


@pytest.mark.parametrize(
    ("dialect", "sql", "name", "line", "column"),
    [
        ("postgres", "SELECT pg_read_file('/etc/passwd')::timestamptz", "pg_read_file", 1, 8),
        ("postgres", "SELECT max(t) FROM pg_ls_dir('/') AS t", "pg_ls_dir", 1, 20),
        ("postgres", "SELECT pg_stat_file('/etc/passwd')", "pg_stat_file", 1, 8),
        ("postgres", "SELECT pg_read_binary_file('/x')", "pg_read_binary_file", 1, 8),
        ("postgres", "SELECT lo_import('/etc/passwd')", "lo_import", 1, 8),
        ("postgres", "SELECT lo_export(1, '/tmp/x')", "lo_export", 1, 8),
        ("postgres", "SELECT * FROM dblink('host=x', 'select 1') AS t(a int)", "dblink", 1, 15),
        ("postgres", "SELECT query_to_xml('select 1', true, true, '')", "query_to_xml", 1, 8),
        ("postgres", "SELECT set_config('statement_timeout', '0', false)", "set_config", 1, 8),
        # Qualified, quoted, any case, a comment before the parenthesis: still the call.
        ("postgres", 'SELECT\n  "pg_catalog"."PG_READ_FILE" /**/ (\'/x\')', "pg_read_file", 2, 17),
        ("mysql", "SELECT LOAD_FILE('/etc/passwd')", "load_file", 1, 8),
        ("sqlite", "SELECT load_extension('/tmp/x.so')", "load_extension", 1, 8),
        ("sqlite", "SELECT readfile('/etc/passwd')", "readfile", 1, 8),
        ("duckdb", "SELECT max(a) FROM read_csv('/etc/passwd')", "read_csv", 1, 20),
        ("duckdb", "SELECT max(upper(content)) FROM read_text('/x')", "read_text", 1, 33),
        ("duckdb", "SELECT to_base64(content) FROM read_blob('/x')", "read_blob", 1, 32),
        ("duckdb", "SELECT max(file) FROM glob('/root/*')", "glob", 1, 23),
        ("duckdb", "SELECT * FROM query('SELECT 1')", "query", 1, 15),
    ],
)
def test_host_reaching_calls_are_refused_with_their_position(
    dialect: str, sql: str, name: str, line: int, column: int
) -> None:
    hit = host_reach(sql, dialect)
    assert hit is not None and (hit.name, hit.line, hit.column) == (name, line, column)
    message = check_readonly_query(sql, dialect)
    assert message is not None
    assert f"{name}()" in message and f"(line {line}, column {column})" in message


def test_a_where_naming_one_is_refused_too() -> None:
    message = check_where("x = 1 AND\n  pg_read_file('/etc/passwd') LIKE 'a%'", "postgres")
    assert message == (
        "must read only the warehouse's tables: pg_read_file() reads or writes the database "
        "server's files (line 2, column 3)"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT max(setting) FROM pg_file_settings",
        "SELECT max(x) FROM pg_hba_file_rules",
        "SELECT max(CAST(rolpassword AS timestamptz)) FROM pg_catalog.pg_authid",
        'SELECT U&"\\0070g_read_file"(\'/x\')',
    ],
)
def test_config_file_views_and_escaped_names_are_refused_on_postgres(sql: str) -> None:
    assert check_readonly_query(sql, "postgres") is not None


@pytest.mark.parametrize(
    "sql", ["SELECT max(ts) FROM '/etc/passwd'", 'SELECT max(ts) FROM "orders.csv"']
)
def test_a_file_read_as_a_table_is_refused_on_duckdb(sql: str) -> None:
    message = check_readonly_query(sql, "duckdb")
    assert message is not None and "is a file or URL, not a table" in message


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "SELECT max(loaded_at) FROM raw.orders WHERE status = 'read_file'"),
        ("postgres", "SELECT max(pg_read_file_at) FROM audit"),  # a column, not the call
        ("sqlite", "SELECT max(t) FROM x WHERE glob('a*', name)"),  # SQLite's own glob()
        ("duckdb", "SELECT max(loaded_at) FROM raw.orders"),
        ("mysql", "SELECT max(updated_at) FROM shop.orders WHERE source IN ('web', 'pos')"),
    ],
)
def test_ordinary_freshness_sql_passes(dialect: str, sql: str) -> None:
    assert host_reach(sql, dialect) is None
    assert check_readonly_query(sql, dialect) is None


def test_a_mention_inside_a_string_or_comment_is_refused_all_the_same() -> None:
    # MySQL runs /*! … */ comments, and backslash escapes end strings elsewhere than a
    # naive scanner thinks: the scan does not try to tell code from text.
    assert host_reach("x = 1 /*!50000 OR load_file('/etc/passwd') */", "mysql") is not None
    assert host_reach("x = '\\'' OR load_file('/etc/passwd') = ''", "mysql") is not None


def test_the_run_time_statement_refuses_them_whatever_validation_said() -> None:
    from monitor.core.errors import SourceError

    with pytest.raises(SourceError, match=r"query: refused, read_text\(\)"):
        statement(query("q", "SELECT max(c) FROM read_text('/x')"), duck_quote, dialect="duckdb")
    with pytest.raises(SourceError, match=r"where: refused, pg_read_file\(\)"):
        statement(
            table("t", "orders", "loaded_at", where="pg_read_file('/x') > ''"),
            duck_quote,
            dialect="postgres",
        )
    ok = table("t", "orders", "loaded_at", where="glob('a*', name)")
    assert "glob" in statement(ok, duck_quote, dialect="sqlite")
    assert isinstance(query("q", "SELECT 1").source, QuerySource)


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("mysql", "SELECT LOAD_FILE/* a comment (with parentheses) */('/etc/passwd')"),
        ("postgres", "SELECT pg_read_file\n-- a line comment\n('/etc/passwd')"),
        ("postgres", "SELECT x FROM t WHERE a = '--' OR pg_read_file/**/('/x') > ''"),
        ("duckdb", "SELECT * FROM read_csv /* x */ ('/etc/passwd')"),
    ],
)
def test_no_comment_between_a_distinctive_name_and_its_call_hides_it(
    dialect: str, sql: str
) -> None:
    assert host_reach(sql, dialect) is not None


def test_everyday_words_as_columns_pass() -> None:
    assert host_reach("SELECT max(ts) FROM logs WHERE query <> '' AND edit", "duckdb") is None
    assert host_reach("SELECT max(query_count) FROM glob_stats", "duckdb") is None


def test_the_scan_stays_linear_on_hostile_text() -> None:
    import time

    text = "read_csv_at /* " * 100_000 + "glob  " * 100_000 + "U&" * 100_000
    started = time.perf_counter()
    assert host_reach(text, "duckdb") is None
    assert time.perf_counter() - started < 2.0
