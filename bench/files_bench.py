"""One check of a `files` contract over 10,000 files in a partitioned tree.

Baseline, measured in the same run: `glob.glob(recursive=True)` + `os.stat` + `max`.
Also times a `column:` read of 1,000 small Parquet files through DuckDB.

    .venv/bin/python bench/files_bench.py [--files 10000]
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.settings import Settings
from monitor.core.models import Contract, Expectation, FilesSource
from monitor.sources.base import ReadContext
from monitor.sources.files import reader as files


def build_tree(base: Path, n: int) -> None:
    """n files: lake/orders/year=2026/month=MM/day=DD/part-K.parquet (+ noise files)."""
    for i in range(n):
        folder, part = divmod(i, 100)
        month, day = 1 + folder // 28, 1 + folder % 28
        d = base / f"lake/orders/year=2026/month={month:02}/day={day:02}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"part-{part:03}.parquet").write_bytes(b"")
        if part == 0:
            (d / "_SUCCESS").write_bytes(b"")


def best_of(fn: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fresh-files-bench-") as tmp:
        base = Path(tmp)
        build_tree(base, args.files)
        pattern = "lake/orders/**/*.parquet"
        ctx = ReadContext(settings=Settings(base_dir=base), now=datetime.now(UTC))
        contract = Contract(
            name="orders_files",
            owner="ops",
            warehouse="main",
            source=FilesSource(glob=pattern),
            expectation=Expectation(error_after=timedelta(hours=1)),
        )

        def ours() -> object:
            [reading] = files.read_batch([contract], ctx)
            assert reading.last_update is not None, reading
            return reading

        def naive() -> object:
            paths = glob.glob(str(base / pattern), recursive=True)
            return max(os.stat(p).st_mtime for p in paths)

        ours()
        naive()  # warm the page cache for both
        t_ours, t_naive = best_of(ours), best_of(naive)
        print(f"files: {args.files} files in a partitioned tree, glob {pattern}")
        print(f"  fresh files check      {t_ours * 1000:8.1f} ms (median of 7)")
        print(f"  glob.glob + os.stat    {t_naive * 1000:8.1f} ms (median of 7)")
        print(f"  ratio naive / fresh    {t_naive / t_ours:8.2f}x")

        import duckdb

        pq = base / "pq"
        pq.mkdir()
        con = duckdb.connect()
        for i in range(1000):
            con.execute(
                f"COPY (SELECT TIMESTAMP '2026-11-20 00:00' + INTERVAL {i} MINUTE AS ts, "
                f"range AS id FROM range(100)) TO '{pq}/p{i:04}.parquet' (FORMAT parquet)"
            )
        column = Contract(
            name="orders_values",
            owner="ops",
            warehouse="main",
            source=FilesSource(glob="pq/*.parquet", column="ts"),
            expectation=Expectation(error_after=timedelta(hours=1)),
        )
        t_col = best_of(lambda: files.read_batch([column], ctx), runs=3)
        print(f"  column: max(ts) over 1,000 Parquet files  {t_col * 1000:8.1f} ms (median of 3)")


if __name__ == "__main__":
    main()
