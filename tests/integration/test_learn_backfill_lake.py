"""The backfill of learned histories from Delta and Iceberg tables (SPEC 13): their data
commits, written by the real libraries (deltalake, pyiceberg on a SQL catalog), with commit
times placed in the past so a history of days exists. A first `fresh check --at` learns;
`backfill: false` is still learning; maintenance commits (OPTIMIZE) and anything after --at
never count."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.learn_helpers import AT, H, M, assert_learned, check, kept, project
from tests.integration.test_learn_backfill_sources import (
    SUCCESSES,
    assert_backfilled,
    both,
)

pa = pytest.importorskip("pyarrow")
COMMITS = SUCCESSES[::2]  # every 4 hours for 6 days, some after AT


def rows(*ids: int) -> Any:
    return pa.table({"id": pa.array(ids, pa.int64())})


def _retime_delta(log: Path, version: int, at: datetime) -> None:
    """Set commit `version`'s commitInfo timestamp (the commit time Delta readers use)."""
    path = log / f"{version:020d}.json"
    actions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for action in actions:
        if "commitInfo" in action:
            action["commitInfo"]["timestamp"] = int(at.timestamp() * 1000)
    path.write_text("".join(json.dumps(a) + "\n" for a in actions))


def test_delta_data_commits_and_never_optimize(tmp_path: Path) -> None:
    deltalake = pytest.importorskip("deltalake", reason="SKIPPED LOUDLY: deltalake not installed")
    table = str(tmp_path / "orders")
    log = tmp_path / "orders" / "_delta_log"
    half = len(COMMITS) // 2
    version = 0
    for i, at in enumerate(COMMITS):
        deltalake.write_deltalake(table, rows(i), mode="append" if i else "error")
        _retime_delta(log, version, at)
        version += 1
        if i == half:  # a compaction between two loads: no data changed
            deltalake.DeltaTable(table).optimize.compact()
            _retime_delta(log, version, at + H)
            version += 1
    config = project(tmp_path, "", both("orders", "delta: orders"))
    want = [t for t in COMMITS if t <= AT]
    assert_backfilled(config, "orders", want)
    assert COMMITS[half] + H not in kept(config, "orders")


def test_iceberg_data_snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyiceberg.catalog", reason="SKIPPED LOUDLY: pyiceberg not installed")
    from pyiceberg.catalog import load_catalog
    from pyiceberg.table import snapshots

    (tmp_path / "warehouse").mkdir()
    props = {
        "type": "sql",
        "uri": f"sqlite:///{tmp_path}/catalog.db",
        "warehouse": f"file://{tmp_path}/warehouse",
    }
    cat = load_catalog("local", **props)
    cat.create_namespace("shop")
    table = cat.create_table("shop.orders", schema=rows(0).schema)

    class Clock:
        """pyiceberg stamps a snapshot with time.time(): the commit times of the past."""

        now = 0.0

        @classmethod
        def time(cls) -> float:
            return cls.now

    monkeypatch.setattr(snapshots, "time", Clock)
    for i, at in enumerate(COMMITS):
        Clock.now = at.timestamp()
        if i % 7 == 6:  # now and then a delete, which changes data too
            table.delete(f"id = {i - 1}")
        else:
            table.append(rows(i))
    monkeypatch.undo()
    config = project(
        tmp_path,
        "catalogs:\n  local: " + json.dumps(props) + "\n",
        both("orders", "iceberg: shop.orders, catalog: local"),
    )
    assert_backfilled(config, "orders", [t for t in COMMITS if t <= AT])


def test_a_check_after_the_first_reads_only_new_delta_commits(tmp_path: Path) -> None:
    deltalake = pytest.importorskip("deltalake", reason="SKIPPED LOUDLY: deltalake not installed")
    table = str(tmp_path / "orders")
    log = tmp_path / "orders" / "_delta_log"
    early = [t for t in COMMITS if t <= AT]
    for i, at in enumerate(early):
        deltalake.write_deltalake(table, rows(i), mode="append" if i else "error")
        _retime_delta(log, i, at)
    config = project(tmp_path, "", both("orders", "delta: orders"))
    assert_learned(check(config, AT)["orders"])
    late = AT + 30 * M
    deltalake.write_deltalake(table, rows(99), mode="append")
    _retime_delta(log, len(early), late)
    # A commit already covered is never read again: broken, it is not even noticed.
    (log / f"{1:020d}.json").write_text("not json\n")
    assert_learned(check(config, AT + 2 * H)["orders"])
    assert kept(config, "orders") == [*early, late]
