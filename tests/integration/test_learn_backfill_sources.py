"""The backfill of learned histories from run logs, heartbeats, OpenLineage events and files
(SPEC 13), each on the real thing: a first `fresh check --at` of a `learn` contract learns
from the source's past (successful runs, success pings, COMPLETE events, files' times or the
distinct minutes of a column inside them) and gives a learned verdict; the same contract with
`backfill: false` is still learning. Failures, starts, other jobs and anything after --at
never count."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from pathlib import Path

import duckdb

from monitor.core.lineage import RunEvent
from monitor.store import Store
from monitor.store.lineage import record
from tests.integration.learn_helpers import (
    AT,
    D,
    H,
    M,
    assert_learned,
    assert_learning,
    check,
    kept,
    project,
)

# A job that succeeds every 2 hours for 6 days; a failed attempt 20 minutes before each.
SUCCESSES = [AT - 6 * D + 2 * H * i + 13 * M for i in range(6 * 12 + 6)]  # some after AT
FAILURES = [t - 20 * M for t in SUCCESSES]


def expected() -> list[datetime]:
    return [t for t in SUCCESSES if t <= AT]


def both(name: str, source: str) -> str:
    """A learned contract and the same one learning from observations only."""
    return (
        f"- {{name: {name}, {source}, learn: true}}\n"
        f"- {{name: {name}_observed, {source}, learn: {{backfill: false}}}}\n"
    )


def assert_backfilled(config: Path, name: str, want: list[datetime] | None = None) -> None:
    out = check(config, AT)
    assert_learned(out[name])
    assert_learning(out[f"{name}_observed"])
    assert kept(config, name) == (want if want is not None else expected())


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_run_log_table_gives_its_successful_runs(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE TABLE runs (job TEXT, status TEXT, finished_at TIMESTAMP)")
    rows = [("load", "success", t) for t in SUCCESSES] + [("load", "failed", t) for t in FAILURES]
    rows += [("other", "success", t + 7 * M) for t in SUCCESSES]
    con.executemany(
        "INSERT INTO runs VALUES (?, ?, ?)", [(j, s, t.replace(tzinfo=None)) for j, s, t in rows]
    )
    con.close()
    config = project(
        tmp_path,
        'warehouses:\n  main: {url: "duckdb:///wh.duckdb"}',
        both("load", "run_log: {job: load, table: runs}"),
    )
    assert_backfilled(config, "load")


def test_a_json_lines_run_log_gives_its_successful_runs(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    half = len(SUCCESSES) // 2
    for part, chunk in enumerate((SUCCESSES[:half], SUCCESSES[half:])):
        lines = []
        for t in chunk:
            lines.append({"job": "load", "status": "failed", "finished_at": iso(t - 20 * M)})
            lines.append({"job": "load", "status": "success", "finished_at": iso(t)})
            lines.append({"job": "other", "status": "success", "finished_at": iso(t + 7 * M)})
        (tmp_path / "logs" / f"runs-{part}.jsonl").write_text(
            "".join(json.dumps(line) + "\n" for line in lines)
        )
    config = project(tmp_path, "", both("load", "run_log: {job: load, file: logs/*.jsonl}"))
    assert_backfilled(config, "load")


def test_dbt_run_results_give_the_model_s_successful_runs(tmp_path: Path) -> None:
    for i, t in enumerate(SUCCESSES):
        folder = tmp_path / "target" / "archive" / f"run-{i:03d}"
        folder.mkdir(parents=True)
        status = "error" if i % 5 == 4 else "success"  # every fifth run failed
        results = [
            {
                "unique_id": "model.shop.orders",
                "status": status,
                "timing": [{"name": "execute", "completed_at": iso(t)}],
            }
        ]
        doc = {
            "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                         "generated_at": iso(t + M)},
            "args": {"which": "build"},
            "results": results,
        }  # fmt: skip
        (folder / "run_results.json").write_text(json.dumps(doc))
    # `dbt docs generate` reports success for nodes it never built: no run.
    docs = tmp_path / "target" / "run_results.json"
    timing = [{"name": "execute", "completed_at": iso(AT - 3 * H)}]
    fake = {
        "metadata": {"generated_at": iso(AT - 3 * H - 7 * M)},
        "args": {"which": "generate"},
        "results": [{"unique_id": "model.shop.orders", "status": "success", "timing": timing}],
    }
    docs.write_text(json.dumps(fake))
    config = project(
        tmp_path,
        "",
        both("orders", "run_log: {job: orders, preset: dbt, file: target/**/run_results.json}"),
    )
    want = [t for i, t in enumerate(SUCCESSES) if t <= AT and i % 5 != 4]
    assert_backfilled(config, "orders", want)


def test_heartbeats_give_their_success_pings(tmp_path: Path) -> None:
    config = project(tmp_path, "", both("nightly", "heartbeat: {}"))
    with Store.open("sqlite:///state.db", tmp_path) as store:
        for name in ("nightly", "nightly_observed"):
            for t in SUCCESSES:
                store.record_ping(name, "start", t - 10 * M)
                store.record_ping(name, "fail", t - 9 * M, exit_code=1)
                store.record_ping(name, "success", t)
    assert_backfilled(config, "nightly")


def test_openlineage_gives_the_complete_runs_of_a_job_and_of_a_dataset(tmp_path: Path) -> None:
    config = project(
        tmp_path,
        "",
        both("job", "openlineage: {namespace: airflow, job: orders.load}")
        + both("table", "openlineage: {namespace: pg, dataset: public.orders}"),
    )
    events = []
    for t in SUCCESSES:
        for ok in (False, True):
            run = str(uuid.uuid4())
            out = (("pg", "public.orders"),)
            end = t if ok else t - 15 * M
            events += [
                RunEvent("START", end - 5 * M, run, "airflow", "orders.load", out),
                RunEvent("COMPLETE" if ok else "FAIL", end, run, "airflow", "orders.load", out),
            ]
        other = str(uuid.uuid4())
        events.append(RunEvent("COMPLETE", t + 7 * M, other, "airflow", "other", ()))
    with Store.open("sqlite:///state.db", tmp_path) as store:
        record(store, events, AT)
    assert_backfilled(config, "job")
    assert_backfilled(config, "table")


def test_files_give_their_times_without_a_column(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i, t in enumerate(SUCCESSES):
        path = data / f"part-{i:03d}.csv"
        path.write_text("id\n1\n")
        os.utime(path, (t.timestamp(), t.timestamp()))
    config = project(tmp_path, "", both("drops", 'files: "data/*.csv"'))
    assert_backfilled(config, "drops")


def test_files_with_a_column_give_the_distinct_minutes_inside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i, t in enumerate(SUCCESSES):
        path = data / f"part-{i:03d}.csv"
        rows = [f"{n},{(t.replace(tzinfo=None)).isoformat()}" for n in range(3)]
        path.write_text("id,loaded_at\n" + "\n".join(rows) + "\n")
        written = (t + 2 * M).timestamp()
        os.utime(path, (written, written))
    config = project(tmp_path, "", both("orders", 'files: "data/*.csv", column: loaded_at'))
    assert_backfilled(config, "orders")


def test_dbt_sources_json_gives_each_max_loaded_at(tmp_path: Path) -> None:
    for i, t in enumerate(SUCCESSES):
        folder = tmp_path / "target" / "archive" / f"freshness-{i:03d}"
        folder.mkdir(parents=True)
        checked = t + 40 * M  # dbt looked 40 minutes after the load
        doc = {
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
                "generated_at": iso(checked),
            },
            "results": [
                {
                    "unique_id": "source.shop.raw.orders",
                    "max_loaded_at": iso(t),
                    "snapshotted_at": iso(checked),
                    "status": "pass",
                }
            ],
        }
        (folder / "sources.json").write_text(json.dumps(doc))
    config = project(
        tmp_path,
        "",
        both("raw", "run_log: {job: raw.orders, preset: dbt, file: target/**/sources.json}"),
    )
    # The load just before AT was seen by dbt only after it: not known at AT.
    want = [t for t in SUCCESSES if t + 40 * M <= AT]
    assert_backfilled(config, "raw", want)
