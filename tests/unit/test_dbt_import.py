"""dbt's freshness merge, limits and source keys, read without dbt (SPEC 11)."""

from __future__ import annotations

from typing import Any

from monitor.config.imports.dbt import UNSET, limits, merge_freshness, source_fields
from monitor.config.imports.dbt_folder import render
from monitor.config.yamlpos import Pos

H1 = {"count": 1, "period": "hour"}
H2 = {"count": 2, "period": "hour"}
D1 = {"count": 1, "period": "day"}


def merged(source: Any, table: Any) -> dict[str, str]:
    return limits(merge_freshness(source, table), "")[0]


def test_a_table_without_a_block_takes_its_sources_default() -> None:
    assert merged({"warn_after": H1, "error_after": H2}, UNSET) == {
        "warn_after": "1h",
        "error_after": "2h",
    }


def test_a_table_block_overrides_key_by_key() -> None:
    assert merged({"warn_after": H1, "error_after": H2}, {"error_after": D1}) == {
        "warn_after": "1h",
        "error_after": "1d",
    }


def test_freshness_null_on_a_table_turns_it_off() -> None:
    assert merged({"warn_after": H1, "error_after": H2}, None) == {}


def test_freshness_null_on_a_source_clears_only_its_default() -> None:
    assert merged(None, UNSET) == {}
    assert merged(None, {"error_after": H1}) == {"error_after": "1h"}


def test_warn_after_null_clears_the_inherited_limit() -> None:
    assert merged({"warn_after": H1, "error_after": H2}, {"warn_after": None}) == {
        "error_after": "2h"
    }


def test_an_empty_time_inherits_and_a_bad_period_is_a_problem() -> None:
    empty = {"count": None, "period": None}
    assert merged({"warn_after": H1}, {"warn_after": empty}) == {"warn_after": "1h"}
    found, problems = limits({"warn_after": {"count": 3, "period": "week"}}, "")
    assert found == {}
    assert problems == ["warn_after: unknown period 'week' (minute, hour or day)"]


def test_the_filter_is_the_tables_else_the_sources() -> None:
    block = merge_freshness({"warn_after": H1, "filter": "a = 1"}, {"filter": "b = 2"})
    assert block is not None and block["filter"] == "b = 2"
    block = merge_freshness({"warn_after": H1, "filter": "a = 1"}, {"error_after": H2})
    assert block is not None and block["filter"] == "a = 1"


def test_loaded_at_field_column_expression_and_query() -> None:
    assert source_fields("db.raw.orders", {"filter": "x > 0"}, "_loaded_at", None) == {
        "table": "db.raw.orders",
        "column": "_loaded_at",
        "where": "x > 0",
    }
    assert source_fields("raw.e", None, "coalesce(u, c)", None) == {
        "query": "SELECT max(coalesce(u, c)) FROM raw.e"
    }
    assert source_fields("raw.e", {"filter": "k = 'w'"}, "cast(t as timestamp)", None) == {
        "query": "SELECT max(cast(t as timestamp)) FROM raw.e WHERE k = 'w'"
    }
    assert source_fields("raw.s", None, "_at", "select max(at) from {{ this }};") == {
        "query": "select max(at) from raw.s"
    }
    assert source_fields("raw.m", None, None, None) == {"table": "raw.m"}


def test_env_var_and_var_are_rendered_and_the_rest_located() -> None:
    text = (
        "a: \"{{ env_var('DB') }}\"\n"
        "b: \"{{ env_var('NOPE', 'dflt') }}\"\n"
        "c: \"{{ var('schema') }}\"\n"
        "d: \"{{ env_var('MISSING') }}\"\n"
    )
    out, problems = render(text, {"DB": "prod"}, {"schema": "raw"})
    assert out.splitlines()[:3] == ['a: "prod"', 'b: "dflt"', 'c: "raw"']
    assert problems == [(Pos(4, 5), "environment variable 'MISSING' is not set and has no default")]
