"""The dispatcher: groups per source kind and warehouse, threads, timeouts, errors, masking."""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from monitor.config.redact import scrub
from monitor.config.settings import Warehouse
from monitor.core.models import (
    Contract,
    Expectation,
    FilesSource,
    HeartbeatSource,
    QuerySource,
    Reading,
    RunLogSource,
    Source,
    TableSource,
)
from monitor.sources import kind_of, read_contracts, registry
from monitor.sources.base import ReadContext
from tests.integration.sql_helpers import NOW, read, settings, table, utc


def contract(name: str, source: Source) -> Contract:
    return Contract(
        name=name,
        owner="ops",
        warehouse="main",
        source=source,
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


@pytest.fixture
def duck(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT TIMESTAMP '2026-11-27 10:00:00' AS at")
    con.close()
    return path


def fake_kind(monkeypatch: pytest.MonkeyPatch, read_batch: object) -> None:
    """Swap the heartbeat kind's reader for one whose read_batch is `read_batch`."""
    fake = types.SimpleNamespace(read_batch=read_batch, explain=lambda contract, ctx: "fake")
    monkeypatch.setattr(registry, "HEARTBEAT", replace(registry.HEARTBEAT, load=lambda: fake))


def test_each_source_kind_has_its_reader() -> None:
    assert kind_of(table("t", "x", "y")) is registry.SQL
    assert kind_of(contract("m", TableSource("x"))) is registry.METADATA
    assert kind_of(contract("q", QuerySource("select 1"))) is registry.SQL
    assert kind_of(contract("f", FilesSource("*.csv"))) is registry.FILES
    assert kind_of(contract("h", HeartbeatSource())) is registry.HEARTBEAT
    assert kind_of(contract("r", RunLogSource(job="j", file="x"))) is registry.RUN_LOG


def test_a_missing_source_kind_is_an_error_reading_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, duck: Path
) -> None:
    def missing() -> registry.Reader:
        raise ImportError("no module named monitor.sources.heartbeat.reader")

    monkeypatch.setattr(registry, "HEARTBEAT", replace(registry.HEARTBEAT, load=missing))
    s = settings(duck.parent, main=Warehouse(url=f"duckdb:///{duck}"))
    got = read([contract("hb", HeartbeatSource()), table("t", "t", "at")], s)
    assert got["hb"].error == "source kind heartbeat is not available"
    assert got["t"].last_update == utc(2026, 11, 27, 10)


def test_a_reader_that_raises_fails_its_group_only_and_secrets_are_masked(
    monkeypatch: pytest.MonkeyPatch, duck: Path
) -> None:
    url = "postgresql+psycopg://reader:hunter2hunter2@db.example.com:5432/analytics"

    def explode(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
        raise RuntimeError(f"could not reach {url} (password hunter2hunter2)")

    fake_kind(monkeypatch, explode)
    s = settings(duck.parent, main=Warehouse(url=f"duckdb:///{duck}"), pg=Warehouse(url=url))
    got = read([contract("hb", HeartbeatSource()), table("t", "t", "at")], s)
    assert got["hb"].error is not None
    assert "hunter2hunter2" not in got["hb"].error
    assert "reader:***@db.example.com" in got["hb"].error
    assert got["t"].last_update == utc(2026, 11, 27, 10)


def test_a_hung_group_times_out_without_delaying_the_others(
    monkeypatch: pytest.MonkeyPatch, duck: Path
) -> None:
    release = threading.Event()

    def hang(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
        release.wait(30)
        return [Reading(contract=c.name, last_update=NOW) for c in contracts]

    fake_kind(monkeypatch, hang)
    s = settings(
        duck.parent,
        main=Warehouse(url=f"duckdb:///{duck}", timeout=timedelta(milliseconds=300)),
    )
    arrived: dict[str, float] = {}
    t0 = time.monotonic()
    got = read_contracts(
        [
            contract("hb1", HeartbeatSource()),
            contract("hb2", HeartbeatSource()),
            table("t", "t", "at"),
        ],
        s,
        NOW,
        on_read=lambda r: arrived.__setitem__(r.contract, time.monotonic() - t0),
    )
    release.set()
    assert got["hb1"].error == "timed out after 0.3s"
    assert got["hb2"].error == "timed out after 0.3s"
    assert got["t"].last_update == utc(2026, 11, 27, 10)
    assert arrived["t"] < arrived["hb1"]
    assert time.monotonic() - t0 < 3


def test_readings_reported_early_are_kept_when_the_rest_times_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    release = threading.Event()

    def half(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
        ctx.deliver(Reading(contract=contracts[0].name, last_update=NOW))  # one, early
        release.wait(30)
        return []

    fake_kind(monkeypatch, half)
    s = settings(tmp_path, main=Warehouse(url="duckdb:///x", timeout=timedelta(milliseconds=200)))
    got = read([contract("a", HeartbeatSource()), contract("b", HeartbeatSource())], s)
    release.set()
    assert got["a"].last_update == NOW and got["a"].error is None
    assert got["b"].error == "timed out after 0.2s"


def test_on_read_runs_on_the_calling_thread_once_per_contract(duck: Path) -> None:
    s = settings(duck.parent, main=Warehouse(url=f"duckdb:///{duck}"))
    seen: list[tuple[str, str]] = []
    got = read_contracts(
        [table(f"t{i}", "t", "at") for i in range(5)],
        s,
        NOW,
        on_read=lambda r: seen.append((r.contract, threading.current_thread().name)),
    )
    assert sorted(name for name, _ in seen) == sorted(got) == [f"t{i}" for i in range(5)]
    assert {thread for _, thread in seen} == {threading.current_thread().name}


def test_an_unknown_warehouse_is_an_error_for_its_contracts(duck: Path) -> None:
    s = settings(duck.parent, main=Warehouse(url=f"duckdb:///{duck}"))
    got = read([table("x", "t", "at", warehouse="nowhere"), table("t", "t", "at")], s)
    assert got["x"].error is not None and "'nowhere' is not defined" in got["x"].error
    assert got["t"].error is None


def test_no_contracts_is_no_readings() -> None:
    assert read([], settings(Path("."))) == {}


def test_mask_hides_url_passwords_and_known_secrets() -> None:
    text = "failed: postgresql://u:p%40ss@h/db and mysql+pymysql://root:toor@x:3306/m"
    assert scrub(text) == "failed: postgresql://u:***@h/db and mysql+pymysql://root:***@x:3306/m"
    assert scrub("token abc123 leaked", ["abc123"]) == "token *** leaked"
