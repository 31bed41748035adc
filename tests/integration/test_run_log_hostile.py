"""Broken or hostile run-log files cost their contract an error, never memory or the process."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from monitor.core.models import Reading, RunLogSource
from monitor.sources.run_log import files as run_log_files
from monitor.sources.run_log import reader as run_log
from tests.integration.source_helpers import contract, ctx_for

DBT = RunLogSource(
    job="orders",
    file="target/*.json",
    preset="dbt",
    success=("success",),
    failure=("error",),
)
JSONL = RunLogSource(job="orders", file="runs.jsonl")
GOOD = '{"job": "orders", "status": "success", "finished_at": "2026-11-20T08:00:00Z"}\n'


def read(tmp_path: Path, source: RunLogSource) -> Reading:
    [reading] = run_log.read_batch([contract(source)], ctx_for(tmp_path))
    return reading


def test_a_json_line_nested_too_deeply_is_an_error_naming_its_line(tmp_path: Path) -> None:
    deep = '{"job": "orders", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    (tmp_path / "runs.jsonl").write_text(GOOD + deep)
    reading = read(tmp_path, JSONL)
    assert reading.error == f"{tmp_path}/runs.jsonl:2: JSON nested too deeply"


def test_a_giant_line_is_refused_without_reading_it_into_memory(tmp_path: Path) -> None:
    with (tmp_path / "runs.jsonl").open("w") as fh:
        fh.write(GOOD + '{"job": "orders", "pad": "')
        for _ in range(48):
            fh.write("x" * (1 << 20))
        fh.write('"}\n' + GOOD)
    tracemalloc.start()
    try:
        reading = read(tmp_path, JSONL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reading.error is not None and ":2: line longer than" in reading.error
    assert peak < 16 << 20, f"peak {peak >> 20} MB for a 48 MB line"


def test_a_dbt_file_nested_too_deeply_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    deep = '{"results": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (tmp_path / "target/run_results.json").write_text(deep)
    reading = read(tmp_path, DBT)
    assert reading.error is not None and "JSON nested too deeply" in reading.error


def test_a_dbt_file_over_the_size_cap_is_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_log_files, "MAX_DBT_BYTES", 1 << 20)
    (tmp_path / "target").mkdir()
    results = [{"unique_id": f"model.shop.m{i}", "status": "success"} for i in range(20_000)]
    (tmp_path / "target/run_results.json").write_text(json.dumps({"results": results}))
    reading = read(tmp_path, DBT)
    assert reading.error is not None and "larger than 1 MB, not read" in reading.error


def test_the_dbt_cache_is_bounded_by_results_not_only_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_log_files, "_CACHE_RESULTS", 250)
    monkeypatch.setattr(run_log_files, "_CACHE", type(run_log_files._CACHE)())
    monkeypatch.setattr(run_log_files, "_cached_results", 0)
    (tmp_path / "target").mkdir()
    for n in range(5):
        results = [{"unique_id": f"model.shop.m{i}", "status": "success"} for i in range(100)]
        path = tmp_path / f"target/run_{n}.json"
        path.write_text(json.dumps({"metadata": {"generated_at": None}, "results": results}))
    read(tmp_path, DBT)
    assert len(run_log_files._CACHE) == 2
    assert run_log_files._cached_results == 200
