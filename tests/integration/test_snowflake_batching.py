"""Snowflake batching (SPEC 14 cost, issue 15): the column reads of a round go in chunks of
`BATCH` contracts, one statement each (monitor.sources.sql.batching), through the real
connector against fakesnow; the statements are counted where fakesnow received them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from monitor.sources.sql.batching import BATCH
from tests.integration.serving import write_project
from tests.integration.snowflake_rig import Fakesnow
from tests.integration.test_snowflake import CHECKS, FRESH_YML, TABLES

N = 2 * BATCH + 5  # three chunks

# One table per contract, each with its own newest value (minute k of 2026-11-27 10:00 UTC,
# 11:00 wall time in the warehouse's Europe/Berlin).
MANY = "USE DATABASE SHOP;\nUSE SCHEMA SALES;\n" + ";\n".join(
    f"CREATE OR REPLACE TABLE many_{k} AS SELECT "
    f"'2026-11-27 11:{k % 60:02d}:00'::TIMESTAMP_NTZ AS ts"
    for k in range(N)
)


@pytest.fixture(scope="module")
def snow(fakesnow: Fakesnow) -> Fakesnow:
    """The server with the column-type tables and N one-row tables."""
    fakesnow.seed(TABLES)
    fakesnow.seed(MANY)
    return fakesnow


def _reads(statements: list[str]) -> list[str]:
    """The statements that read a column (set-up and the dialect's own queries left out)."""
    return [s for s in statements if "max(" in s.lower()]


def _many(extra: str = "") -> str:
    head = "defaults:\n  warehouse: snow\n  owner: data\n  error_after: 36500d\ncontracts:\n"
    body = "".join(f"  - {{name: m{k}, table: many_{k}, column: ts}}\n" for k in range(N))
    return head + extra + body


def _want(k: int) -> str:
    return f"2026-11-27T10:{k % 60:02d}:00Z"


@pytest.mark.timeout(1500)
def test_n_contracts_on_n_tables_cost_ceil_n_over_batch_statements(
    snow: Fakesnow, tmp_path: Path
) -> None:
    write_project(tmp_path, FRESH_YML, {"many.yml": _many()})
    before = len(snow.statements())
    results = snow.check(tmp_path)
    reads = _reads(snow.statements()[before:])
    assert len(reads) == math.ceil(N / BATCH) == 3, [r[:200] for r in reads]
    assert {k: r["last_update"] for k, r in results.items()} == {
        f"m{k}": _want(k) for k in range(N)
    }
    assert all(r["error"] is None for r in results.values())


@pytest.mark.timeout(1500)
def test_a_bad_table_or_column_in_a_chunk_errors_only_that_contract(
    snow: Fakesnow, tmp_path: Path
) -> None:
    bad = (
        "  - {name: no_table, table: nope_nope, column: ts}\n"
        "  - {name: no_column, table: many_1, column: nope_col}\n"
    )
    write_project(tmp_path, FRESH_YML, {"many.yml": _many(bad)})
    before = len(snow.statements())
    results = snow.check(tmp_path)
    assert "NOPE_NOPE" in results["no_table"]["error"].upper()
    assert "NOPE_COL" in results["no_column"]["error"].upper()
    good = {k: r["last_update"] for k, r in results.items() if not k.startswith("no_")}
    assert good == {f"m{k}": _want(k) for k in range(N)}
    assert all(results[f"m{k}"]["error"] is None for k in range(N))
    # Three chunk statements; the first (holding both bad contracts) failed and its BATCH
    # contracts were read again one by one; the other chunks were not.
    reads = _reads(snow.statements()[before:])
    assert len(reads) == 3 + BATCH, len(reads)


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    # Age moves with the clock between runs; everything read from the warehouse must not.
    skip = ("age_seconds", "checked_at")
    return {k: v for k, v in result.items() if "duration" not in k and k not in skip}


@pytest.mark.timeout(1500)
def test_a_batched_read_gives_what_each_contract_read_alone_gives(
    snow: Fakesnow, tmp_path: Path
) -> None:
    # Every column type of test_snowflake.py (NTZ in the warehouse timezone, LTZ, TZ, DATE,
    # epochs, a where, an empty table), without the missing table: one statement for all.
    left_out = ("name: missing", "name: q,", "name: meta")
    checks = "\n".join(x for x in CHECKS.splitlines() if not any(s in x for s in left_out))
    write_project(tmp_path, FRESH_YML, {"snow.yml": checks})
    before = len(snow.statements())
    batched = snow.check(tmp_path)
    assert len(_reads(snow.statements()[before:])) == 1
    assert len(batched) == 9 and all(r["error"] is None for r in batched.values()), batched
    for name, result in batched.items():
        before = len(snow.statements())
        alone = snow.check(tmp_path, "--select", name)
        assert len(_reads(snow.statements()[before:])) == 1
        assert _comparable(alone[name]) == _comparable(result), name
