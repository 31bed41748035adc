"""`files` and `run_log` sources on `s3://` globs against a real local S3 endpoint (moto)."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.core.models import FilesSource, Reading, RunLogSource
from monitor.sources.files import reader as files
from monitor.sources.run_log import reader as run_log
from tests.integration.source_helpers import contract, ctx_for

pytest.importorskip("moto.server", reason="SKIPPED LOUDLY: moto[s3] not installed")


def bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name)
    return name


def read(tmp_path: Path, source: FilesSource) -> Reading:
    [reading] = files.read_batch([contract(source)], ctx_for(tmp_path))
    return reading


def test_it_reads_the_newest_object_time_under_an_s3_glob(s3: Any, tmp_path: Path) -> None:
    b = bucket(s3, "lake-mtimes")
    for day in ("01", "02"):
        for n in range(3):
            s3.put_object(Bucket=b, Key=f"orders/day={day}/part-{n}.csv", Body=b"x\n1\n")
    s3.put_object(Bucket=b, Key="orders/day=02/_SUCCESS", Body=b"")
    listed = s3.list_objects_v2(Bucket=b)["Contents"]
    newest = max(o["LastModified"] for o in listed if o["Key"].endswith(".csv"))
    reading = read(tmp_path, FilesSource(glob=f"s3://{b}/orders/*/*.csv"))
    assert reading.error is None, reading.error
    assert reading.last_update == newest
    recursive = read(tmp_path, FilesSource(glob=f"s3://{b}/**/*.csv"))
    assert recursive.last_update == newest


def test_new_objects_are_seen_by_the_next_read(s3: Any, tmp_path: Path) -> None:
    b = bucket(s3, "lake-new")
    before = read(tmp_path, FilesSource(glob=f"s3://{b}/in/*.csv"))
    assert before.last_update is None
    assert before.detail == f"no file matches s3://{b}/in/*.csv"
    s3.put_object(Bucket=b, Key="in/a.csv", Body=b"x\n")
    after = read(tmp_path, FilesSource(glob=f"s3://{b}/in/*.csv"))
    assert after.last_update is not None


def test_it_reads_the_newest_value_inside_csv_and_parquet_objects(s3: Any, tmp_path: Path) -> None:
    b = bucket(s3, "lake-values")
    s3.put_object(
        Bucket=b, Key="t/a.csv", Body=b"id,ts\n1,2026-11-20 08:00:00\n2,2026-11-21 09:00:00\n"
    )
    local = tmp_path / "b.parquet"
    duckdb.sql(f"COPY (SELECT TIMESTAMP '2026-11-21 10:30' AS ts) TO '{local}' (FORMAT parquet)")
    s3.put_object(Bucket=b, Key="t/b.parquet", Body=local.read_bytes())
    reading = read(tmp_path, FilesSource(glob=f"s3://{b}/t/*", column="ts"))
    assert reading.error is None, reading.error
    assert reading.last_update is not None
    assert reading.last_update.isoformat() == "2026-11-21T10:30:00+00:00"


def test_a_corrupt_parquet_object_is_an_error_naming_its_url(s3: Any, tmp_path: Path) -> None:
    b = bucket(s3, "lake-corrupt")
    s3.upload_fileobj(io.BytesIO(b"PAR1 not really"), b, "t/bad.parquet")
    reading = read(tmp_path, FilesSource(glob=f"s3://{b}/t/*.parquet", column="ts"))
    assert reading.error is not None
    assert reading.error.startswith(f"cannot read s3://{b}/t/bad.parquet:")


def test_a_missing_bucket_is_an_error_not_an_empty_match(s3: Any, tmp_path: Path) -> None:
    reading = read(tmp_path, FilesSource(glob="s3://no-such-bucket-here/*.csv"))
    assert reading.error == (
        "cannot list s3://no-such-bucket-here/*.csv: bucket 'no-such-bucket-here' does not exist"
    )
    assert "testing-secret" not in reading.error


def test_run_logs_are_read_from_s3_too(s3: Any, tmp_path: Path) -> None:
    b = bucket(s3, "lake-runlogs")
    lines = [
        '{"job": "export", "status": "success", "finished_at": "2026-11-20T08:00:00Z"}',
        '{"job": "export", "status": "failed", "finished_at": "2026-11-20T09:00:00Z"}',
    ]
    s3.put_object(Bucket=b, Key="runs/2026-11-20.jsonl", Body="\n".join(lines) + "\n")
    source = RunLogSource(job="export", file=f"s3://{b}/runs/*.jsonl")
    [reading] = run_log.read_batch([contract(source)], ctx_for(tmp_path))
    assert reading.error is None, reading.error
    assert reading.last_update is not None
    assert reading.last_update.isoformat() == "2026-11-20T08:00:00+00:00"
    assert reading.detail == "1 failed run since the last success"


def test_dbt_run_results_archived_in_s3_are_read(s3: Any, tmp_path: Path) -> None:
    from tests.integration.test_run_log_files import DBT, node, run_results

    b = bucket(s3, "lake-dbt")
    done = datetime(2026, 11, 20, 8, 0, 3, tzinfo=UTC)
    doc = run_results(done, [node("model.shop.orders", "success", done)])
    s3.put_object(Bucket=b, Key="dbt/2026-11-20/run_results.json", Body=json.dumps(doc))
    source = dataclasses.replace(DBT, file=f"s3://{b}/dbt/*/run_results.json")
    [reading] = run_log.read_batch([contract(source)], ctx_for(tmp_path))
    assert reading.error is None, reading.error
    assert reading.last_update == done
