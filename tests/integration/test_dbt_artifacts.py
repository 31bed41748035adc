"""dbt artifacts read right (SPEC 11): files that are no run, bare names, pre-0.19 files,
unreadable files in an archive, sources.json, and `--at` over an archive.

Every file here is shaped like the committed artifacts of public dbt projects.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.core.evaluate import evaluate
from monitor.core.models import Reading, RunLogSource, Status
from monitor.sources.run_log import reader as run_log
from tests.integration.source_helpers import contract, ctx_for
from tests.integration.test_run_log_files import DBT, T0, iso, node, run_results, write_run

ARCHIVE = dataclasses.replace(DBT, file="archive/*/*.json")


def read(tmp_path: Path, source: RunLogSource, as_of: datetime | None = None) -> Reading:
    ctx = replace(ctx_for(tmp_path), as_of=as_of)
    [reading] = run_log.read_batch([contract(source)], ctx)
    return reading


def status(reading: Reading, now: datetime) -> Status:
    return evaluate(contract(DBT), reading, now).status


def write(base: Path, rel: str, doc: dict[str, Any]) -> None:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))


def by_command(which: str, generated_at: datetime, results: list[dict[str, Any]]) -> Any:
    doc = run_results(generated_at, results)
    doc["args"] = {"which": which, "target": "prod"}
    return doc


def old_run_results(generated_at: datetime, results: list[dict[str, Any]]) -> dict[str, Any]:
    """A run_results.json as dbt 0.18 wrote it: the node inside each result."""
    return {"generated_at": iso(generated_at), "elapsed_time": 3.1, "results": results}


def old_result(
    unique_id: str, status: Any, at: datetime, *, error: str | None = None, skip: bool = False
) -> dict[str, Any]:
    started = at - timedelta(seconds=2)
    return {
        "node": {
            "unique_id": unique_id,
            "resource_type": unique_id.split(".")[0],
            "name": unique_id.split(".")[2],
        },
        "error": error,
        "skip": skip,
        "status": status,
        "fail": None,
        "warn": None,
        "execution_time": 2.0,
        "thread_id": "Thread-1",
        "timing": [
            {"name": "compile", "started_at": iso(started), "completed_at": iso(started)},
            {"name": "execute", "started_at": iso(started), "completed_at": iso(at)},
        ],
    }


def sources_json(snapshotted_at: datetime, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """`dbt source freshness` output (sources/v3), as dbt 1.10 writes it."""
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
            "dbt_version": "1.10.23",
            "generated_at": iso(snapshotted_at),
            "invocation_id": "6f1d3b8e-0d7c-4a2b-8d8b-1f7e5c2a9b30",
            "env": {},
        },
        "results": entries,
        "elapsed_time": 0.8,
    }


def source_entry(
    unique_id: str, max_loaded_at: datetime | None, snapshotted_at: datetime, status: str
) -> dict[str, Any]:
    if max_loaded_at is None:  # a runtime error: dbt records the error and no times
        return {"unique_id": unique_id, "status": "runtime error", "error": "boom"}
    return {
        "unique_id": unique_id,
        "max_loaded_at": iso(max_loaded_at),
        "snapshotted_at": iso(snapshotted_at),
        "max_loaded_at_time_ago_in_s": (snapshotted_at - max_loaded_at).total_seconds(),
        "status": status,
        "criteria": {
            "warn_after": {"count": 1, "period": "hour"},
            "error_after": {"count": 2, "period": "hour"},
            "filter": None,
        },
        "adapter_response": {},
        "timing": [],
        "thread_id": "Thread-1",
        "execution_time": 0.01,
    }


ORDERS = "model.shop.orders"


def test_docs_generate_and_compile_files_are_no_run(tmp_path: Path) -> None:
    built = T0
    write(
        tmp_path,
        "archive/1/run_results.json",
        by_command("build", built, [node(ORDERS, "success", built)]),
    )
    later = T0 + timedelta(hours=3)
    write(
        tmp_path,
        "archive/2/run_results.json",
        by_command("build", later, [node(ORDERS, "error", later)]),
    )
    for i, which in enumerate(("generate", "compile", "list", "parse", "show"), 3):
        at = later + timedelta(minutes=i)
        write(
            tmp_path,
            f"archive/{i}/run_results.json",
            by_command(which, at, [node(ORDERS, "success", at)]),
        )
    reading = read(tmp_path, ARCHIVE)
    # A dbt user sees a failed build after the last good one: the docs run is not a build.
    assert reading.last_update == built
    assert reading.detail == "1 failed run since the last success"
    assert status(reading, later + timedelta(hours=1)) == Status.STALE


def test_a_bare_name_never_matches_a_test_or_unit_test(tmp_path: Path) -> None:
    model_at = T0
    write_run(
        tmp_path,
        "target/run_results.json",
        T0 + timedelta(hours=1),
        [
            node(ORDERS, "error", model_at),
            node("unit_test.shop.orders.orders", "pass", T0 + timedelta(minutes=5)),
            node("test.shop.orders.4a5b6c", "pass", T0 + timedelta(minutes=6)),
        ],
    )
    reading = read(tmp_path, DBT)  # job: orders
    assert reading.last_update is None
    assert "no successful run of job 'orders'" in (reading.detail or "")
    unit = read(tmp_path, replace(DBT, job="unit_test.shop.orders.orders"))
    assert unit.last_update == T0 + timedelta(minutes=5)


def test_seeds_and_snapshots_match_by_bare_name(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        "target/run_results.json",
        T0,
        [
            node("seed.shop.countries", "success", T0),
            node("snapshot.shop.orders_snap", "success", T0),
        ],
    )
    assert read(tmp_path, replace(DBT, job="countries")).last_update == T0
    assert read(tmp_path, replace(DBT, job="orders_snap")).last_update == T0


def test_a_pre_0_19_file_is_read(tmp_path: Path) -> None:
    ok = T0
    failed = T0 + timedelta(hours=1)
    skipped = T0 + timedelta(hours=2)
    write(
        tmp_path,
        "archive/1/run_results.json",
        old_run_results(ok, [old_result(ORDERS, "CREATE TABLE (8)", ok)]),
    )
    write(
        tmp_path,
        "archive/2/run_results.json",
        old_run_results(failed, [old_result(ORDERS, "ERROR", failed, error="Database Error")]),
    )
    write(
        tmp_path,
        "archive/3/run_results.json",
        old_run_results(skipped, [old_result(ORDERS, None, skipped, skip=True)]),
    )
    reading = read(tmp_path, ARCHIVE)
    assert reading.error is None
    assert reading.last_update == ok
    assert reading.detail == "1 failed run since the last success; other runs since: 'skipped' (1)"
    write(
        tmp_path,
        "archive/4/run_results.json",
        old_run_results(skipped, [old_result(ORDERS, "SUCCESS 1", skipped)]),
    )
    assert read(tmp_path, ARCHIVE).last_update == skipped


def test_an_unreadable_file_in_an_archive_is_named_and_skipped(tmp_path: Path) -> None:
    write_run(tmp_path, "archive/2/run_results.json", T0, [node(ORDERS, "success", T0)])
    broken = tmp_path / "archive/1/run_results.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"results": [')
    reading = read(tmp_path, ARCHIVE)
    assert reading.error is None
    assert reading.last_update == T0
    assert reading.detail == f"skipped unreadable file {broken}:1: not valid JSON (Expecting value)"


def test_a_lone_unreadable_file_is_still_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "archive/1/run_results.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"nodes": {}}')
    reading = read(tmp_path, ARCHIVE)
    assert reading.error == f"{broken}: not a dbt run_results.json (no 'results' list)"


SRC = "source.shop.raw.orders"


def test_sources_json_gives_max_loaded_at_and_dbts_verdict(tmp_path: Path) -> None:
    loaded = T0 - timedelta(minutes=90)
    write(
        tmp_path, "target/sources.json", sources_json(T0, [source_entry(SRC, loaded, T0, "warn")])
    )
    for job in (SRC, "raw.orders"):
        reading = read(tmp_path, replace(DBT, job=job, file="target/sources.json"))
        assert reading.error is None
        assert reading.last_update == loaded  # the data's time, not when dbt looked
        assert reading.detail == f"dbt source freshness said 'warn' at {iso(T0)[:19]}Z"


def test_a_runtime_error_in_sources_json_keeps_the_older_load(tmp_path: Path) -> None:
    loaded = T0 - timedelta(hours=5)
    write(
        tmp_path,
        "archive/1/sources.json",
        sources_json(T0, [source_entry(SRC, loaded, T0, "error")]),
    )
    later = T0 + timedelta(hours=1)
    write(
        tmp_path,
        "archive/2/sources.json",
        sources_json(later, [source_entry(SRC, None, later, "")]),
    )
    reading = read(tmp_path, replace(ARCHIVE, job=SRC))
    assert reading.last_update == loaded
    assert reading.detail is not None and "'runtime error'" in reading.detail


def test_an_archive_mixing_every_kind_gives_what_a_dbt_user_expects(tmp_path: Path) -> None:
    good = T0
    write(
        tmp_path,
        "archive/1/run_results.json",
        old_run_results(good, [old_result(ORDERS, "SUCCESS 1", good)]),
    )
    t2 = T0 + timedelta(hours=1)
    write(
        tmp_path, "archive/2/run_results.json", by_command("run", t2, [node(ORDERS, "error", t2)])
    )
    t3 = T0 + timedelta(hours=2)
    write(
        tmp_path,
        "archive/3/run_results.json",
        by_command("generate", t3, [node(ORDERS, "success", t3)]),
    )
    write(tmp_path, "archive/4/sources.json", sources_json(t3, [source_entry(SRC, t3, t3, "pass")]))
    (tmp_path / "archive/5").mkdir()
    (tmp_path / "archive/5/run_results.json").write_text("")
    reading = read(tmp_path, ARCHIVE)
    assert reading.last_update == good
    assert reading.detail is not None
    assert reading.detail.startswith("1 failed run since the last success; skipped unreadable file")


def test_at_ignores_runs_and_checks_after_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        "archive/1/run_results.json",
        by_command("build", T0, [node(ORDERS, "success", T0)]),
    )
    later = T0 + timedelta(hours=5)
    write(
        tmp_path,
        "archive/2/run_results.json",
        by_command("build", later, [node(ORDERS, "success", later)]),
    )
    at = T0 + timedelta(hours=2)
    reading = read(tmp_path, ARCHIVE, as_of=at)
    assert reading.last_update == T0
    assert status(reading, at) == Status.STALE  # 2h old against a 1h error_after
    write(tmp_path, "archive/3/sources.json", sources_json(T0, [source_entry(SRC, T0, T0, "pass")]))
    write(
        tmp_path,
        "archive/4/sources.json",
        sources_json(later, [source_entry(SRC, later, later, "pass")]),
    )
    src = read(tmp_path, replace(ARCHIVE, job=SRC), as_of=at)
    assert src.last_update == T0
    assert src.detail == f"dbt source freshness said 'pass' at {iso(T0)[:19]}Z"
