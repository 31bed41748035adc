"""Files and run-log contracts through a real `fresh check` process: bad inputs give clear
messages in the report, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

FRESH = Path(sys.executable).with_name("fresh")
NOW = datetime.now(UTC).replace(microsecond=0)

CHECKS = """\
defaults:
  owner: ops
contracts:
  - name: partner_drop
    files: landing/partner/*.csv
    error_after: 2h
  - name: lake_clicks
    files: lake/clicks/*.parquet
    column: event_time
    error_after: 2h
  - name: export_orders
    run_log:
      file: logs/runs/*.jsonl
      job: export_orders
    error_after: 2h
  - name: dbt_orders
    run_log:
      preset: dbt
      file: target/run_results.json
      job: orders
    error_after: 2h
"""


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def project(tmp_path: Path) -> Path:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks/sources.yml").write_text(CHECKS)
    (tmp_path / "landing/partner").mkdir(parents=True)
    (tmp_path / "lake/clicks").mkdir(parents=True)
    (tmp_path / "lake/clicks/part-0.parquet").write_bytes(b"PAR1 truncated by a crash")
    (tmp_path / "logs/runs").mkdir(parents=True)
    rows = [
        {"job": "export_orders", "status": "succeeded", "finished_at": iso(NOW)},
        {"job": "export_orders", "status": "failed", "finished_at": iso(NOW)},
    ]
    (tmp_path / "logs/runs/today.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "target").mkdir()
    done = NOW - timedelta(minutes=5)
    results = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.10.23",
            "generated_at": iso(done),
            "invocation_id": "6f1d2a9e-0c1b-4a44-8d0a-2b0c5f7a9e11",
            "env": {},
        },
        "results": [
            {
                "status": "success",
                "timing": [
                    {"name": "compile", "started_at": iso(done), "completed_at": iso(done)},
                    {"name": "execute", "started_at": iso(done), "completed_at": iso(done)},
                ],
                "thread_id": "Thread-1 (worker)",
                "execution_time": 0.4,
                "adapter_response": {"_message": "OK"},
                "message": "OK",
                "failures": None,
                "unique_id": "model.shop.orders",
                "compiled": True,
                "compiled_code": "select 1",
                "relation_name": '"warehouse"."main"."orders"',
                "batch_results": None,
            }
        ],
        "elapsed_time": 1.2,
        "args": {"which": "run"},
    }
    (tmp_path / "target/run_results.json").write_text(json.dumps(results))
    return tmp_path


def test_bad_inputs_are_clear_messages_in_the_report_not_tracebacks(tmp_path: Path) -> None:
    root = project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESH_")}
    proc = subprocess.run(
        [str(FRESH), "check", "--format", "json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stderr
    results = {r["contract"]: r for r in json.loads(proc.stdout)["results"]}

    assert results["partner_drop"]["status"] == "stale"
    assert results["partner_drop"]["detail"] == "no file matches landing/partner/*.csv"

    assert results["lake_clicks"]["status"] == "error"
    bad = root / "lake/clicks/part-0.parquet"
    assert results["lake_clicks"]["error"].startswith(f"cannot read {bad}:")

    assert results["export_orders"]["status"] == "stale"
    assert results["export_orders"]["detail"] == (
        "no successful run of job 'export_orders' in logs/runs/*.jsonl; 1 failed run in the "
        "log; other statuses seen: 'succeeded' (1) (success is [success])"
    )

    assert results["dbt_orders"]["status"] == "fresh"
    assert results["dbt_orders"]["last_update"] == (NOW - timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
