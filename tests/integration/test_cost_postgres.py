"""What fresh costs (SPEC 14), proven by a real PostgreSQL's own statement log: contracts
with the same read share it, every session carries the query tag, and
`fresh_warehouse_statements_total` agrees with the statements the server saw."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.settings import Settings, Warehouse
from monitor.core.models import Contract, Expectation, TableSource
from monitor.sources import cost, read_contracts
from monitor.sources.sql.alchemy import dispose_engines
from tests import servers

# Each server log line starts with the session's application_name.
_OPTIONS = "-c log_statement=all -c log_line_prefix='%a|'"
_ENTRY = re.compile(r"^(?P<app>[^|\n]*)\|LOG:  (statement|execute [^:]*): ", re.M)


@pytest.fixture(scope="module")
def logged_pg() -> Iterator[servers.PgServer]:
    why = servers.postgres_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    with servers.postgres_server(_OPTIONS) as pg:
        yield pg


def _log(pg: servers.PgServer) -> str:
    return (pg.base / "log").read_text(errors="replace")


def _settle(pg: servers.PgServer, before: int) -> str:
    """The log written since offset `before`, once the server has flushed it."""
    time.sleep(0.5)
    return _log(pg)[before:]


def test_thirty_contracts_on_three_tables_read_each_table_once_per_round(
    logged_pg: servers.PgServer,
) -> None:
    import sqlalchemy as sa

    setup = sa.create_engine(logged_pg.url)
    with setup.begin() as conn:
        for t in ("orders", "payments", "refunds"):
            conn.exec_driver_sql(f"CREATE TABLE {t} (loaded_at timestamptz)")
            conn.exec_driver_sql(f"INSERT INTO {t} VALUES (now() - interval '2 hours')")
    setup.dispose()
    dispose_engines()
    settings = Settings(
        warehouses={"main": Warehouse(url=logged_pg.url, query_tag="fresh-cost-test")}
    )
    contracts = [
        Contract(
            name=f"c{i:02d}",
            owner=("shop", "finance", "ops")[i % 3],
            warehouse="main",
            source=TableSource(table=("orders", "payments", "refunds")[i % 3], column="loaded_at"),
            expectation=Expectation(error_after=timedelta(minutes=30 + 10 * i)),
        )
        for i in range(30)
    ]
    for round_no in range(2):
        counted = cost.statements().get("main", 0)
        offset = len(_log(logged_pg))
        readings = read_contracts(contracts, settings, datetime.now(UTC))
        assert sorted(readings) == [c.name for c in contracts]
        assert all(r.error is None and r.last_update is not None for r in readings.values())
        # Every contract of one table got the same value, under its own name.
        assert len({readings[c.name].last_update for c in contracts[0::3]}) == 1
        log = _settle(logged_pg, offset)
        ours = [m for m in _ENTRY.finditer(log) if m.group("app") == "fresh-cost-test"]
        others = [
            m.group("app") for m in _ENTRY.finditer(log) if m.group("app") != "fresh-cost-test"
        ]
        assert others == [], f"statements without the tag: {others}"
        for table in ("orders", "payments", "refunds"):
            assert len(re.findall(rf"\bFROM {table}\b", log)) == 1, (round_no, table, log)
        sent = cost.statements()["main"] - counted
        assert sent == len(ours), (round_no, sent, log)
        if round_no == 0:
            # Set-up is counted: the three SETs of a new session and the dialect's queries.
            assert "SET statement_timeout" in log and sent >= 4
    dispose_engines()


def test_the_counter_is_exported_with_warehouse_and_replica() -> None:
    from monitor.serve.metrics import ServiceMetrics

    cost.count("lake-test", 3)
    text = ServiceMetrics("r1", "0").render().decode()
    line = 'fresh_warehouse_statements_total{replica="r1",warehouse="lake-test"} '
    assert any(ln.startswith(line) and float(ln.split()[-1]) >= 3 for ln in text.splitlines()), text
