"""BigQuery jobs carry the job label `fresh` (SPEC 14 cost): a real `fresh check` through
sqlalchemy-bigquery and the real google-cloud-bigquery client, pointed at a local stand-in
for BigQuery's REST API (tests/integration/bigquery_stub.py) that records each job request.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bigquery_stub import (
    BigQueryStub,
    running_bigquery_stub,
    service_account_key,
)
from tests.integration.serving import write_project

pytest.importorskip(
    "sqlalchemy_bigquery", reason="SKIPPED LOUDLY: the bigquery extra is not installed"
)

CHECKS = """\
defaults: {warehouse: bq, owner: data, error_after: 36500d}
contracts:
  - {name: orders, table: shop.orders, column: loaded_at}
  - {name: events, table: shop.events, column: at, where: "kind = 'click'"}
"""


@pytest.fixture
def stub() -> Iterator[BigQueryStub]:
    with running_bigquery_stub() as s:
        yield s


def _check(project: Path, stub: BigQueryStub, fresh_yml: str) -> subprocess.CompletedProcess[str]:
    write_project(project, fresh_yml, {"bq.yml": CHECKS})
    key = service_account_key(project / "key.json", stub.url + "/token", "my-proj")
    env = {
        **os.environ,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key),
        "BIGQUERY_EMULATOR_HOST": stub.url,
    }
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "check", "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_every_bigquery_job_carries_the_fresh_label(stub: BigQueryStub, tmp_path: Path) -> None:
    fresh_yml = "warehouses:\n  bq:\n    url: bigquery://my-proj/shop\nowners:\n  data: {}\n"
    proc = _check(tmp_path, stub, fresh_yml)
    assert proc.returncode == 0, proc.stderr
    assert '"last_update": "2026-07-01T12:00:00Z"' in proc.stdout
    jobs = stub.jobs()
    for job in jobs:  # the reads, and the pool's liveness ping if a connection was reused
        assert _labels(job) == {"fresh": "fresh"}, job
    # The label tags the job, so the SQL goes without the leading comment.
    reads = _reads(jobs)
    assert len(reads) == 2, jobs
    assert all(_query(job).startswith("SELECT max(") for job in reads), reads
    assert "Cannot create BigQuery Storage client" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_warehouse_query_tag_becomes_the_label_value(stub: BigQueryStub, tmp_path: Path) -> None:
    fresh_yml = (
        "warehouses:\n  bq:\n    url: bigquery://my-proj/shop\n    query_tag: Fresh Prod@EU\n"
        "owners:\n  data: {}\n"
    )
    proc = _check(tmp_path, stub, fresh_yml)
    assert proc.returncode == 0, proc.stderr
    jobs = stub.jobs()
    assert len(_reads(jobs)) == 2, jobs
    assert [_labels(j) for j in jobs] == [{"fresh": "fresh_prod_eu"}] * len(jobs), jobs


def _query(job: dict[str, Any]) -> str:
    return str(job.get("query") or job["configuration"]["query"]["query"])


def _labels(job: dict[str, Any]) -> object:
    return job.get("labels") or job.get("configuration", {}).get("labels")


def _reads(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs that read a table: when both reads run on one pooled connection (one read
    thread took both, as on a loaded machine), the pool pings it first (`SELECT 1`)."""
    return [job for job in jobs if _query(job).strip().upper() != "SELECT 1"]
