"""`delta:` contracts against tables written by the deltalake library (local and s3://)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.core.models import DeltaSource, Reading
from monitor.sources import read_contracts
from monitor.sources.lake import delta
from tests.integration.cli_project import clean_env, fresh
from tests.integration.source_helpers import contract, ctx_for

deltalake = pytest.importorskip("deltalake", reason="SKIPPED LOUDLY: deltalake not installed")
pa = pytest.importorskip("pyarrow")


def read(base: Path, path: str, as_of: datetime | None = None) -> Reading:
    ctx = ctx_for(base)
    if as_of is not None:
        from dataclasses import replace

        ctx = replace(ctx, as_of=as_of)
    [reading] = delta.read_batch([contract(DeltaSource(path), warehouse="lake")], ctx)
    return reading


def newest(table: str, **storage: str) -> tuple[int, datetime, str]:
    """(version, time, operation) of the newest commit, by deltalake's own history."""
    h = deltalake.DeltaTable(table, storage_options=storage or None).history(1)[0]
    return h["version"], datetime.fromtimestamp(h["timestamp"] / 1000, UTC), h["operation"]


def rows(*ids: int) -> Any:
    return pa.table({"id": pa.array(ids, pa.int64()), "v": pa.array([str(i) for i in ids])})


def test_data_changes_move_the_last_update_and_maintenance_never_does(tmp_path: Path) -> None:
    table = str(tmp_path / "orders")
    deltalake.write_deltalake(table, rows(1, 2))
    seen = []
    for step in ("append", "merge", "delete", "overwrite", "append2", "update"):
        dt = deltalake.DeltaTable(table)
        if step == "append":
            deltalake.write_deltalake(table, rows(3), mode="append")
        elif step == "merge":
            dt.merge(
                rows(3, 4), "s.id = t.id", source_alias="s", target_alias="t"
            ).when_matched_update_all().when_not_matched_insert_all().execute()
        elif step == "delete":
            dt.delete("id = 1")
        elif step == "overwrite":
            deltalake.write_deltalake(table, rows(7, 8), mode="overwrite")
        elif step == "append2":
            deltalake.write_deltalake(table, rows(9), mode="append")
        else:
            dt.update({"v": "'x'"}, predicate="id = 9")
        version, at, operation = newest(table)
        reading = read(tmp_path, table)
        assert reading.error is None, reading.error
        assert reading.last_update == at, step
        assert reading.detail == f"Delta version {version}: {operation}"
        seen.append(operation)
    assert seen == ["WRITE", "MERGE", "DELETE", "WRITE", "WRITE", "UPDATE"]
    data_version, data_at, data_op = newest(table)

    # Several small files, so OPTIMIZE has something to rewrite (dataChange: false).
    for i in range(3):
        deltalake.write_deltalake(table, rows(100 + i), mode="append")
    data_version, data_at, data_op = newest(table)
    maintenance = []
    deltalake.DeltaTable(table).optimize.compact()
    maintenance.append(newest(table)[2])
    deltalake.DeltaTable(table).optimize.z_order(["id"])
    maintenance.append(newest(table)[2])
    deltalake.DeltaTable(table).vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False
    )
    deltalake.DeltaTable(table).alter.set_table_properties(
        {"delta.logRetentionDuration": "interval 30 days"}
    )
    maintenance.append(newest(table)[2])
    deltalake.DeltaTable(table).alter.add_columns(
        [deltalake.Field("note", "string", nullable=True)]
    )
    maintenance.append(newest(table)[2])
    assert maintenance == ["OPTIMIZE", "OPTIMIZE", "SET TBLPROPERTIES", "ADD COLUMN"]
    assert newest(table)[0] > data_version + 4  # the log did move on
    reading = read(tmp_path, table)
    assert reading.error is None, reading.error
    assert reading.last_update == data_at
    assert reading.detail == f"Delta version {data_version}: {data_op}"


def test_as_of_ignores_commits_after_t(tmp_path: Path) -> None:
    table = str(tmp_path / "t")
    deltalake.write_deltalake(table, rows(1))
    _, first, _ = newest(table)
    deltalake.write_deltalake(table, rows(2), mode="append")
    reading = read(tmp_path, table, as_of=first)
    assert (reading.last_update, reading.detail) == (first, "Delta version 0: WRITE")
    before = read(tmp_path, table, as_of=first - timedelta(milliseconds=1))
    assert before.last_update is None and before.error is None
    assert before.detail is not None and before.detail.startswith("no commit changed data")


def test_a_relative_path_is_read_from_the_project_folder(tmp_path: Path) -> None:
    deltalake.write_deltalake(str(tmp_path / "lake" / "t"), rows(1))
    reading = read(tmp_path, "lake/t")
    assert reading.error is None and reading.last_update is not None


def test_a_table_without_data_commits_has_no_last_update(tmp_path: Path) -> None:
    table = tmp_path / "empty"
    deltalake.DeltaTable.create(str(table), schema=rows(1).schema)
    reading = read(tmp_path, str(table))
    assert reading.error is None
    assert reading.last_update is None
    assert reading.detail == "no commit changed data in version 0"


def test_a_missing_table_and_a_folder_without_log_are_errors_naming_the_path(
    tmp_path: Path,
) -> None:
    missing = read(tmp_path, str(tmp_path / "nope"))
    assert missing.error is not None and str(tmp_path / "nope") in missing.error
    (tmp_path / "plain").mkdir()
    plain = read(tmp_path, str(tmp_path / "plain"))
    assert plain.error == f"no Delta table at {tmp_path / 'plain'}: _delta_log/ holds no commit"


def test_a_corrupt_log_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    table = tmp_path / "t"
    deltalake.write_deltalake(str(table), rows(1))
    deltalake.write_deltalake(str(table), rows(2), mode="append")
    commit = table / "_delta_log" / "00000000000000000001.json"
    lines = commit.read_text().splitlines()
    commit.write_text("\n".join([lines[0], '{"add": {"path": "x', *lines[1:]]) + "\n")
    reading = read(tmp_path, str(table))
    assert reading.error is not None
    assert reading.error.startswith(f"corrupt Delta log {commit}: line 2: ")


def test_commit_rules_on_hand_written_logs() -> None:
    """dataChange false (OPTIMIZE's adds and removes) never counts; in-commit time wins."""
    info = {"commitInfo": {"timestamp": 1_700_000_000_000, "operation": "OPTIMIZE"}}
    rewrite = [
        info,
        {"add": {"path": "a", "dataChange": False}},
        {"remove": {"path": "b", "dataChange": False}},
    ]
    text = "\n".join(json.dumps(a) for a in rewrite)
    c = delta.parse_commit(5, text, "x", None)
    assert (c.changes_data, c.operation, c.version) == (False, "OPTIMIZE", 5)
    restore = {
        "commitInfo": {
            "timestamp": 1,
            "inCommitTimestamp": 1_700_000_000_000,
            "operation": "RESTORE",
        }
    }
    text = "\n".join(
        json.dumps(a) for a in [restore, {"remove": {"path": "b", "dataChange": True}}]
    )
    c = delta.parse_commit(6, text, "x", None)
    assert c.changes_data and c.timestamp == datetime.fromtimestamp(1_700_000_000, UTC)
    mtime = datetime(2026, 1, 1, tzinfo=UTC)
    c = delta.parse_commit(7, json.dumps({"add": {"path": "a", "dataChange": True}}), "x", mtime)
    assert (c.timestamp, c.operation) == (mtime, "unknown operation")


def test_s3_tables_are_read_through_the_standard_aws_configuration(
    s3_proc: Any, s3_process_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, s3_endpoint = s3_proc, s3_process_endpoint
    s3.create_bucket(Bucket="lakehouse")
    uri = "s3://lakehouse/sales/orders"
    opts = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing-key",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }
    deltalake.write_deltalake(uri, rows(1), storage_options=opts)
    deltalake.write_deltalake(uri, rows(2), mode="append", storage_options=opts)
    deltalake.write_deltalake(uri, rows(3), mode="append", storage_options=opts)
    version, at, _ = newest(uri, **opts)
    deltalake.DeltaTable(uri, storage_options=opts).optimize.compact()
    assert newest(uri, **opts)[0] == version + 1
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")  # the endpoint is http:// (as MinIO often is)
    reading = read(tmp_path, uri)
    assert reading.error is None, reading.error
    assert (reading.last_update, reading.detail) == (at, f"Delta version {version}: WRITE")
    gone = read(tmp_path, "s3://lakehouse/sales/nothing")
    assert (
        gone.error == "no Delta table at s3://lakehouse/sales/nothing: _delta_log/ holds no commit"
    )
    no_bucket = read(tmp_path, "s3://no-such-bucket/t")
    assert no_bucket.error is not None
    assert no_bucket.error.startswith("cannot list s3://no-such-bucket/t/_delta_log: ")


def test_fresh_check_reads_delta_contracts_with_the_lake_warehouse(tmp_path: Path) -> None:
    deltalake.write_deltalake(str(tmp_path / "lake" / "orders"), rows(1))
    (tmp_path / "checks").mkdir()
    (tmp_path / "fresh.yml").write_text("warehouses:\n  main:\n    url: duckdb:///w.duckdb\n")
    (tmp_path / "checks" / "lake.yml").write_text(
        "contracts:\n"
        "  - name: orders\n    owner: ops\n    delta: lake/orders\n    error_after: 1h\n"
        "  - name: gone\n    owner: ops\n    delta: lake/gone\n    error_after: 1h\n"
    )
    result = fresh("check", "--format", "json", cwd=tmp_path, env=clean_env())
    assert result.returncode == 1, result.stderr
    out = {r["contract"]: r for r in json.loads(result.stdout)["results"]}
    assert out["orders"]["status"] == "fresh" and out["orders"]["warehouse"] == "lake"
    assert out["orders"]["detail"] == "Delta version 0: WRITE"
    assert out["gone"]["status"] == "error" and "lake/gone" in out["gone"]["error"]


def test_the_dispatcher_reads_delta_without_a_declared_warehouse(tmp_path: Path) -> None:
    deltalake.write_deltalake(str(tmp_path / "t"), rows(1))
    ctx = ctx_for(tmp_path)
    c = contract(DeltaSource(str(tmp_path / "t")), warehouse="lake")
    reading = read_contracts([c], ctx.settings, ctx.now)["c"]
    assert reading.error is None and reading.last_update is not None
