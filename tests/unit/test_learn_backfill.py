"""Which learned histories backfill and over what span (SPEC 13): the coverage marker, `--at`
earlier than it, `backfill: false`, a failed backfill, and the kinds that never try."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.settings import Settings
from monitor.core.models import (
    Contract,
    DeltaSource,
    Expectation,
    FilesSource,
    HeartbeatSource,
    IcebergSource,
    Learn,
    OpenLineageSource,
    QuerySource,
    Reading,
    RunLogSource,
    Source,
    TableSource,
)
from monitor.sources import learn_history, registry
from monitor.sources.base import Backfilled, Due, ReadContext
from monitor.store import Store

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def contract(name: str, source: Source, backfill: bool = True) -> Contract:
    return Contract(name, "ops", "main", source, Expectation(learn=Learn(backfill=backfill)))


class Fake:
    """A backfiller that records what it was asked and answers one update per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, datetime]] = []
        self.fail = False

    def backfill(self, due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
        out: list[Backfilled] = []
        for c, since in due:
            self.calls.append((c.name, since, ctx.now))
            out.append((c, "the warehouse is down") if self.fail else (c, [since.timestamp() + 60]))
        return out


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    f = Fake()
    monkeypatch.setattr(registry, "SQL_BACKFILL", registry.BackfillKind("sql", lambda: f))
    return f


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open("sqlite:///state.db", tmp_path) as s:
        yield s


def test_first_use_reads_the_window_then_only_what_came_after_the_marker(
    fake: Fake, store: Store, tmp_path: Path
) -> None:
    c = contract("t", TableSource("t", "at"))
    settings = Settings(base_dir=tmp_path)
    found, problems = learn_history.histories(store, [c], {}, settings, NOW)
    assert fake.calls == [("t", NOW - timedelta(days=35), NOW)] and not problems
    assert list(found["t"]) == [(NOW - timedelta(days=35)).timestamp() + 60]
    learn_history.histories(store, [c], {}, settings, NOW + H)
    assert fake.calls[-1] == ("t", NOW, NOW + H)
    # `--at` at or before the marker reads nothing new, and still has the cache (the
    # first update is out of the window by then).
    found, _ = learn_history.histories(store, [c], {}, settings, NOW + H / 2)
    assert len(fake.calls) == 2 and list(found["t"]) == [NOW.timestamp() + 60]


def test_a_failed_backfill_leaves_the_marker_and_is_reported(
    fake: Fake, store: Store, tmp_path: Path
) -> None:
    c = contract("t", TableSource("t", "at"))
    settings = Settings(base_dir=tmp_path)
    fake.fail = True
    seen = {"t": Reading("t", last_update=NOW - H)}
    found, problems = learn_history.histories(store, [c], seen, settings, NOW)
    assert problems == {"t": "backfill failed: the warehouse is down"}
    assert list(found["t"]) == [(NOW - H).timestamp()]  # what it observed still counts
    fake.fail = False
    learn_history.histories(store, [c], {}, settings, NOW + H)
    assert fake.calls[-1] == ("t", NOW + H - timedelta(days=35), NOW + H)  # tried again


def test_backfill_false_never_reads_the_source(fake: Fake, store: Store, tmp_path: Path) -> None:
    c = contract("t", TableSource("t", "at"), backfill=False)
    learn_history.histories(store, [c], {}, Settings(base_dir=tmp_path), NOW)
    assert fake.calls == []


@pytest.mark.parametrize(
    ("source", "key"),
    [
        (TableSource("t", "at"), "sql"),
        (TableSource("t"), None),  # metadata: when the table last changed, no history
        (QuerySource("SELECT max(at) FROM t"), None),
        (FilesSource("data/*.csv"), "files"),
        (FilesSource("data/*.csv", column="at"), "files"),
        (RunLogSource("load", table="runs"), "run_log"),
        (RunLogSource("load", file="runs/*.jsonl"), "run_log"),
        (HeartbeatSource(), "store"),
        (OpenLineageSource("ns", job="load"), "store"),
        (DeltaSource("lake/orders"), "lake"),
        (IcebergSource("shop.orders", "local"), "lake"),
    ],
)
def test_which_kinds_backfill(source: Source, key: str | None) -> None:
    kind = registry.backfiller_of(contract("c", source))
    assert (kind.key if kind else None) == key
    if kind is not None:
        assert callable(kind.load().backfill)  # the module loads and has the function


def test_query_and_metadata_contracts_learn_only_from_observations(
    fake: Fake, store: Store, tmp_path: Path
) -> None:
    q = contract("q", QuerySource("SELECT max(at) FROM t"))
    m = contract("m", TableSource("t"))
    seen = {n: Reading(n, last_update=NOW - H) for n in ("q", "m")}
    found, problems = learn_history.histories(store, [q, m], seen, Settings(base_dir=tmp_path), NOW)
    assert fake.calls == [] and not problems
    assert {n: list(t) for n, t in found.items()} == {n: [(NOW - H).timestamp()] for n in "qm"}
    assert store.learn_coverage(["q", "m"]) == {}
