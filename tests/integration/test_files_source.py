"""`files` contracts on real local files: mtimes, globs, values inside Parquet/CSV/JSON."""

from __future__ import annotations

import glob
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from monitor.config.settings import Warehouse
from monitor.core.models import FilesSource
from monitor.sources.files import reader as files
from monitor.sources.files.localglob import glob_mtimes
from tests.integration.source_helpers import contract, ctx_for

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def touch(path: Path, when: datetime, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def read(tmp_path: Path, source: FilesSource, **warehouses: Warehouse):  # type: ignore[no-untyped-def]
    [reading] = files.read_batch([contract(source)], ctx_for(tmp_path, **warehouses))
    return reading


def test_it_reads_the_newest_mtime_in_a_partitioned_tree(tmp_path: Path) -> None:
    for day in range(1, 6):
        for part in range(3):
            when = T0.replace(day=day, hour=part)
            touch(tmp_path / f"lake/orders/date=2026-11-0{day}/part-{part}.parquet", when)
    touch(tmp_path / "lake/orders/date=2026-11-09/_tmp.txt", T0.replace(day=25))
    reading = read(tmp_path, FilesSource(glob="lake/orders/*/*.parquet"))
    assert reading.error is None
    assert reading.last_update == T0.replace(day=5, hour=2)
    assert reading.duration_seconds > 0


def test_double_star_matches_zero_or_more_directories(tmp_path: Path) -> None:
    touch(tmp_path / "logs/a.log", T0)
    touch(tmp_path / "logs/x/y/z/b.log", T0.replace(hour=9))
    touch(tmp_path / "logs/x/c.txt", T0.replace(hour=11))
    assert read(tmp_path, FilesSource(glob="logs/**/*.log")).last_update == T0.replace(hour=9)
    assert read(tmp_path, FilesSource(glob="logs/**")).last_update == T0.replace(hour=11)


@pytest.mark.parametrize(
    "pattern",
    [
        "lake/**/*.csv",
        "lake/*/*/*.csv",
        "lake/region=eu/**",
        "lake/**/day=0[12]/*",
        "lake/region=?u/day=01/f-1.csv",
        "lake/region=eu/day=01/f-1.csv",
        "lake/*",
        "lake/**/.hidden*",
        "nothing/**/*.csv",
    ],
)
def test_it_matches_exactly_what_glob_glob_matches(tmp_path: Path, pattern: str) -> None:
    for region in ("eu", "us"):
        for day in ("01", "02", "03"):
            for n in range(3):
                touch(tmp_path / f"lake/region={region}/day={day}/f-{n}.csv", T0)
    touch(tmp_path / "lake/region=eu/.hidden.csv", T0)
    touch(tmp_path / "lake/.cache/day=01/x.csv", T0)
    touch(tmp_path / "lake/top.csv", T0)
    ours = sorted(p for p, _ in glob_mtimes(pattern, tmp_path))
    theirs = sorted(
        p for p in glob.glob(str(tmp_path / pattern), recursive=True) if os.path.isfile(p)
    )
    assert ours == theirs


def test_a_glob_matching_nothing_is_no_data_with_a_clear_detail(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    reading = read(tmp_path, FilesSource(glob="exports/*.csv"))
    assert reading.error is None
    assert reading.last_update is None
    assert reading.detail == "no file matches exports/*.csv"


def test_absolute_globs_ignore_the_base_dir(tmp_path: Path) -> None:
    touch(tmp_path / "abs/one.csv", T0)
    reading = read(tmp_path / "elsewhere", FilesSource(glob=str(tmp_path / "abs/*.csv")))
    assert reading.last_update == T0


def write_parquet(path: Path, sql: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")


def test_it_reads_the_newest_value_inside_parquet_csv_and_json_files(tmp_path: Path) -> None:
    write_parquet(tmp_path / "d/a.parquet", "SELECT TIMESTAMP '2026-11-20 08:00' AS loaded_at")
    write_parquet(tmp_path / "d/b.parquet", "SELECT TIMESTAMPTZ '2026-11-20 12:00+02' AS loaded_at")
    touch(tmp_path / "d/c.csv", T0, "id,loaded_at\n1,2026-11-20 09:30:00\n2,2026-11-19 00:00:00\n")
    touch(
        tmp_path / "d/e.jsonl",
        T0,
        json.dumps({"loaded_at": "2026-11-20T09:45:00Z"}) + "\n",
    )
    # The file mtimes are all T0; the values say 10:00 UTC is the newest.
    reading = read(tmp_path, FilesSource(glob="d/*", column="loaded_at"))
    assert reading.error is None, reading.error
    assert reading.last_update == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_naive_values_are_read_in_the_warehouse_timezone(tmp_path: Path) -> None:
    write_parquet(tmp_path / "a.parquet", "SELECT TIMESTAMP '2026-11-20 08:00' AS ts")
    reading = read(
        tmp_path,
        FilesSource(glob="*.parquet", column="ts"),
        main=Warehouse(url="duckdb:///w.duckdb", timezone="Europe/Berlin"),
    )
    assert reading.last_update == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)


def test_epoch_millisecond_columns_need_and_use_column_format(tmp_path: Path) -> None:
    ms = int(T0.timestamp() * 1000)
    write_parquet(tmp_path / "a.parquet", f"SELECT {ms}::BIGINT AS ts")
    reading = read(tmp_path, FilesSource(glob="*.parquet", column="ts", column_format="epoch_ms"))
    assert reading.last_update == T0
    unset = read(tmp_path, FilesSource(glob="*.parquet", column="ts"))
    assert unset.error is not None
    assert "column_format" in unset.error


def test_a_corrupt_parquet_file_is_an_error_naming_its_path(tmp_path: Path) -> None:
    write_parquet(tmp_path / "d/good.parquet", "SELECT TIMESTAMP '2026-11-20 08:00' AS ts")
    bad = tmp_path / "d/bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet at all")
    reading = read(tmp_path, FilesSource(glob="d/*.parquet", column="ts"))
    assert reading.last_update is None
    assert reading.error is not None
    assert reading.error.startswith(f"cannot read {bad}:")
    assert "Traceback" not in reading.error


def test_a_missing_column_is_an_error_naming_the_column(tmp_path: Path) -> None:
    write_parquet(tmp_path / "a.parquet", "SELECT 1 AS id")
    reading = read(tmp_path, FilesSource(glob="*.parquet", column="loaded_at"))
    assert reading.error == "column 'loaded_at' not found in the files matching *.parquet"


def test_an_unknown_file_format_is_an_error_naming_the_file(tmp_path: Path) -> None:
    touch(tmp_path / "x.bin", T0)
    reading = read(tmp_path, FilesSource(glob="*", column="ts"))
    assert reading.error is not None
    assert str(tmp_path / "x.bin") in reading.error


def test_an_empty_column_is_no_data(tmp_path: Path) -> None:
    write_parquet(tmp_path / "a.parquet", "SELECT NULL::TIMESTAMP AS ts")
    reading = read(tmp_path, FilesSource(glob="*.parquet", column="ts"))
    assert reading.error is None
    assert reading.last_update is None
    assert reading.detail == "column 'ts' is empty in the 1 files matching *.parquet"


def test_explain_names_the_resolved_glob_and_the_sql(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path)
    text = files.explain(contract(FilesSource(glob="d/*.csv")), ctx)
    assert str(tmp_path / "d/*.csv") in text
    text = files.explain(contract(FilesSource(glob="d/*.csv", column="ts")), ctx)
    assert 'max("ts")' in text


def test_readings_arrive_one_by_one_through_the_dispatcher(tmp_path: Path) -> None:
    from monitor.sources import read_contracts

    touch(tmp_path / "a/x.csv", T0)
    contracts = [
        contract(FilesSource(glob="a/*.csv"), name="found"),
        contract(FilesSource(glob="b/*.csv"), name="empty"),
    ]
    seen: list[str] = []
    settings = ctx_for(tmp_path).settings
    results = read_contracts(
        contracts, settings, datetime.now(UTC), on_read=lambda r: seen.append(r.contract)
    )
    assert sorted(seen) == ["empty", "found"]
    assert results["found"].last_update == T0
    assert results["empty"].detail == "no file matches b/*.csv"
