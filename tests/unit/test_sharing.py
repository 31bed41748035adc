"""Contracts with the same read share it (SPEC 14): who shares, and each keeps its own
verdict and its own timeout error."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.settings import Settings, Warehouse
from monitor.core.models import Contract, Expectation, QuerySource, Reading, TableSource
from monitor.sources import read_contracts, registry
from monitor.sources.base import ReadContext
from monitor.sources.sharing import dedupe

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def c(name: str, source: TableSource | QuerySource, warehouse: str = "main") -> Contract:
    return Contract(
        name=name,
        owner=name,
        warehouse=warehouse,
        source=source,
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


def test_only_identical_reads_are_shared() -> None:
    t = TableSource("orders", "ts")
    contracts = [
        c("a", t),
        c("b", t),
        c("c", TableSource("orders", "ts", where="x = 1")),
        c("d", TableSource("orders", "ts", column_format="epoch_s")),
        c("e", TableSource("orders", "other")),
        c("f", t, warehouse="pg"),
        c("g", QuerySource("select max(ts)\n from orders")),
        c("h", QuerySource("select  max(ts) from orders")),
    ]
    shared = dedupe(contracts)
    assert [x.name for x in shared.readers] == ["a", "c", "d", "e", "f", "g"]
    assert shared.sharers["a"] == ["a", "b"] and shared.sharers["g"] == ["g", "h"]
    got = shared.fan_out([Reading("a", last_update=NOW, detail="d")])
    assert [(r.contract, r.last_update, r.detail) for r in got] == [
        ("a", NOW, "d"),
        ("b", NOW, "d"),
    ]


class _Recorder:
    def __init__(self, hang: threading.Event | None = None) -> None:
        self.seen: list[list[str]] = []
        self.hang = hang

    def read_batch(self, contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
        self.seen.append([x.name for x in contracts])
        if self.hang is not None:
            self.hang.wait(10)
        return [Reading(x.name, last_update=NOW) for x in contracts]

    def explain(self, contract: Contract, ctx: ReadContext) -> str:
        return ""


def test_the_dispatcher_reads_once_and_every_contract_gets_its_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rec = _Recorder()
    monkeypatch.setattr(registry, "SQL", registry.Kind("sql", "t", lambda: rec, lambda _: True))
    t = TableSource("orders", "ts")
    got = read_contracts([c(f"n{i}", t) for i in range(5)], Settings(), NOW)
    assert rec.seen == [["n0"]]
    assert sorted(got) == [f"n{i}" for i in range(5)]
    assert all(r.last_update == NOW and r.error is None for r in got.values())


def test_a_shared_read_that_times_out_is_each_contract_s_own_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    rec = _Recorder(hang=release)
    monkeypatch.setattr(registry, "SQL", registry.Kind("sql", "t", lambda: rec, lambda _: True))
    main = Warehouse(url="duckdb:///x.db", timeout=timedelta(seconds=1))
    settings = Settings(warehouses={"main": main})
    t = TableSource("orders", "ts")
    try:
        got = read_contracts([c("a", t), c("b", t)], settings, NOW)
    finally:
        release.set()
    assert {n: r.error for n, r in got.items()} == {
        "a": "timed out after 1s",
        "b": "timed out after 1s",
    }
