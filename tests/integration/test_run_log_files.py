"""`run_log` contracts read from real files: JSON lines and dbt's run_results.json."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config.settings import Warehouse
from monitor.core.models import Reading, RunLogSource
from monitor.sources.run_log import reader as run_log
from tests.integration.source_helpers import contract, ctx_for

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DBT = RunLogSource(
    job="orders",
    file="target/run_results.json",
    preset="dbt",
    success=("success", "pass"),
    failure=("error", "fail", "runtime error"),
)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read(tmp_path: Path, source: RunLogSource, **warehouses: Warehouse) -> Reading:
    [reading] = run_log.read_batch([contract(source)], ctx_for(tmp_path, **warehouses))
    assert reading.duration_seconds > 0
    return reading


def write_jsonl(path: Path, rows: list[dict[str, Any]], tail: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)


def run(job: str, status: str, at: datetime | str | None) -> dict[str, Any]:
    return {
        "job": job,
        "status": status,
        "finished_at": iso(at) if isinstance(at, datetime) else at,
    }


# --- JSON lines ---------------------------------------------------------------------------


def test_it_reads_the_newest_success_and_counts_failures_after_it(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "logs/runs/2026-11-19.jsonl",
        [run("export_orders", "success", T0 - timedelta(days=1)), run("other", "success", T0)],
    )
    write_jsonl(
        tmp_path / "logs/runs/2026-11-20.jsonl",
        [
            run("export_orders", "failed", T0 - timedelta(hours=30)),  # before: not counted
            run("export_orders", "success", T0),
            run("export_orders", "failed", T0 + timedelta(hours=1)),
            run("export_orders", "error", T0 + timedelta(hours=2)),
            run("export_orders", "running", None),  # no time yet: ignored
        ],
    )
    reading = read(tmp_path, RunLogSource(job="export_orders", file="logs/runs/*.jsonl"))
    assert reading.error is None
    assert reading.last_update == T0
    assert reading.detail == "2 failed runs since the last success"


def test_other_statuses_after_the_success_are_mentioned_not_counted(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "runs.jsonl",
        [
            run("j", "success", T0),
            run("j", "queued", T0 + timedelta(minutes=1)),
            run("j", "failed", T0 + timedelta(minutes=2)),
        ],
    )
    reading = read(tmp_path, RunLogSource(job="j", file="runs.jsonl"))
    assert reading.last_update == T0
    assert reading.detail == "1 failed run since the last success; other runs since: 'queued' (1)"


def test_a_log_with_unknown_statuses_and_no_success_says_what_it_saw(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "runs.jsonl",
        [
            run("j", "succeeded", T0),
            run("j", "succeeded", T0 + timedelta(hours=1)),
            run("j", "failed", T0 + timedelta(hours=2)),
        ],
    )
    reading = read(tmp_path, RunLogSource(job="j", file="runs.jsonl"))
    assert reading.error is None
    assert reading.last_update is None  # no data: stale
    assert reading.detail == (
        "no successful run of job 'j' in runs.jsonl; 1 failed run in the log; "
        "other statuses seen: 'succeeded' (2) (success is [success])"
    )


def test_a_job_absent_from_the_log_is_no_data(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "runs.jsonl", [run("other", "success", T0)])
    reading = read(tmp_path, RunLogSource(job="j", file="runs.jsonl"))
    assert reading.last_update is None
    assert reading.detail == "no run of job 'j' in runs.jsonl"


def test_a_glob_matching_no_log_file_is_no_data(tmp_path: Path) -> None:
    reading = read(tmp_path, RunLogSource(job="j", file="logs/*.jsonl"))
    assert reading.detail == "no file matches logs/*.jsonl"


def test_plain_column_names_naive_times_and_epoch_seconds_are_honoured(tmp_path: Path) -> None:
    rows = [
        {"name": "j", "state": "ok", "ended": "2026-11-20 09:00:00"},  # Berlin: 08:00Z
        {"name": "j", "state": "ok", "ended": int((T0 - timedelta(hours=1)).timestamp())},
    ]
    write_jsonl(tmp_path / "runs.jsonl", rows)
    source = RunLogSource(
        job="j",
        file="runs.jsonl",
        job_column="name",
        status_column="state",
        time_column="ended",
        success=("ok",),
    )
    reading = read(
        tmp_path, source, main=Warehouse(url="duckdb:///w.duckdb", timezone="Europe/Berlin")
    )
    assert reading.last_update == T0


def test_a_half_written_last_line_is_skipped(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "runs.jsonl", [run("j", "success", T0)], tail='{"job": "j", "sta')
    reading = read(tmp_path, RunLogSource(job="j", file="runs.jsonl"))
    assert reading.error is None
    assert reading.last_update == T0


def test_a_broken_line_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "runs.jsonl", [run("j", "success", T0)], tail='{"job": "j", oops\n')
    reading = read(tmp_path, RunLogSource(job="j", file="runs.jsonl"))
    assert reading.error is not None
    assert reading.error.startswith(f"{tmp_path / 'runs.jsonl'}:2: not a JSON object")


def test_an_unreadable_time_is_an_error_naming_file_line_and_field(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "runs.jsonl", [run("j", "success", "yesterday")])
    reading = read(tmp_path, RunLogSource(job="j", file="runs.jsonl"))
    assert reading.error is not None
    assert reading.error.startswith(f"{tmp_path / 'runs.jsonl'}:1: finished_at: ")
    assert "yesterday" in reading.error


# --- dbt run_results.json -----------------------------------------------------------------


def node(
    unique_id: str, status: str, completed: datetime | None, seconds: float = 1.5
) -> dict[str, Any]:
    """One result, with every key dbt's run-results v6 schema requires."""
    timing = []
    if completed is not None:
        started = completed - timedelta(seconds=seconds)
        timing = [
            {"name": "compile", "started_at": iso(started), "completed_at": iso(started)},
            {"name": "execute", "started_at": iso(started), "completed_at": iso(completed)},
        ]
    return {
        "status": status,
        "timing": timing,
        "thread_id": "Thread-1 (worker)",
        "execution_time": seconds if completed is not None else 0.0,
        "adapter_response": {"_message": "OK", "code": "SELECT", "rows_affected": 3}
        if status == "success"
        else {},
        "message": "OK" if status in ("success", "pass") else f"{status} in {unique_id}",
        "failures": 0 if status == "pass" else (1 if status == "fail" else None),
        "unique_id": unique_id,
        "compiled": completed is not None,
        "compiled_code": "select 1" if completed is not None else None,
        "relation_name": '"warehouse"."main"."orders"' if unique_id.startswith("model.") else None,
        "batch_results": None,
    }


def run_results(generated_at: datetime, results: list[dict[str, Any]]) -> dict[str, Any]:
    """A whole run_results.json as dbt 1.10 writes it (run-results schema v6)."""
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.10.23",
            "generated_at": iso(generated_at),
            "invocation_id": "0b7d8f1e-3d8a-4c36-9a33-7e2f3c1d5a10",
            "env": {},
        },
        "results": results,
        "elapsed_time": 4.2,
        "args": {"which": "build", "target": "prod", "select": []},
    }


def write_run(base: Path, rel: str, generated_at: datetime, results: list[dict[str, Any]]) -> None:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run_results(generated_at, results), indent=2))


def test_dbt_reads_a_model_by_name_at_its_execute_completed_at(tmp_path: Path) -> None:
    done = T0 + timedelta(seconds=3)
    write_run(
        tmp_path,
        "target/run_results.json",
        T0 + timedelta(seconds=5),
        [
            node("model.shop.customers", "success", T0 + timedelta(seconds=1)),
            node("model.shop.orders", "success", done),
            node("test.shop.not_null_orders_id.5f6a7b", "pass", T0 + timedelta(seconds=4)),
        ],
    )
    reading = read(tmp_path, DBT)
    assert reading.error is None
    assert reading.last_update == done
    assert reading.detail is None
    by_id = read(tmp_path, dataclasses.replace(DBT, job="model.shop.orders"))
    assert by_id.last_update == done


def test_dbt_tests_pass_and_archived_failures_are_counted(tmp_path: Path) -> None:
    test_id = "test.shop.not_null_orders_id.5f6a7b"
    archive = "archive/*/run_results.json"
    write_run(tmp_path, "archive/1/run_results.json", T0, [node(test_id, "pass", T0)])
    later = T0 + timedelta(hours=1)
    write_run(tmp_path, "archive/2/run_results.json", later, [node(test_id, "fail", later)])
    latest = T0 + timedelta(hours=2)
    write_run(tmp_path, "archive/3/run_results.json", latest, [node(test_id, "error", latest)])
    reading = read(tmp_path, dataclasses.replace(DBT, job=test_id, file=archive))
    assert reading.last_update == T0
    assert reading.detail == "2 failed runs since the last success"


def test_dbt_skipped_nodes_fall_back_to_generated_at_and_are_not_failures(
    tmp_path: Path,
) -> None:
    write_run(tmp_path, "a/run_results.json", T0, [node("model.shop.orders", "success", T0)])
    later = T0 + timedelta(hours=1)
    write_run(tmp_path, "b/run_results.json", later, [node("model.shop.orders", "skipped", None)])
    reading = read(tmp_path, dataclasses.replace(DBT, file="*/run_results.json"))
    assert reading.last_update == T0
    assert reading.detail == "since the last success: 'skipped' (1)"


def test_a_dbt_file_that_is_not_run_results_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target/run_results.json").write_text('{"nodes": {}}')
    reading = read(tmp_path, DBT)
    assert reading.error == (
        f"{tmp_path / 'target/run_results.json'}: not a dbt run_results.json (no 'results' list)"
    )
    (tmp_path / "target/run_results.json").write_text('{"results": [')
    assert read(tmp_path, DBT).error is not None


def test_explain_names_the_files_and_the_rule(tmp_path: Path) -> None:
    text = run_log.explain(contract(DBT), ctx_for(tmp_path))
    assert str(tmp_path / "target/run_results.json") in text
    assert "['success', 'pass']" in text
