"""One check round over 1,000 Delta tables and 1,000 Iceberg tables (SPEC 14).

Baselines, measured in the same run with the same libraries: for Delta, opening each table
with `deltalake.DeltaTable` and reading its newest commit from `history(1)`; for Iceberg,
`catalog.load_table` and the current snapshot's timestamp. Neither baseline skips
OPTIMIZE or `replace` commits as fresh does, so they do less than fresh.

    .venv/bin/python bench/lake_bench.py [--tables 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config.settings import Settings
from monitor.config.settings_schema import validate_settings
from monitor.core.models import Contract, DeltaSource, Expectation, IcebergSource
from monitor.sources import read_contracts


def median_of(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def contract(name: str, source: DeltaSource | IcebergSource) -> Contract:
    return Contract(
        name=name,
        owner="ops",
        warehouse="lake",
        source=source,
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


def build_delta(base: Path, n: int) -> list[str]:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    paths = []
    for i in range(n):
        path = str(base / f"delta/t{i:04}")
        write_deltalake(path, pa.table({"id": [i]}))
        write_deltalake(path, pa.table({"id": [i + 1]}), mode="append")
        if i % 10 == 0:  # some tables end with a compaction fresh must skip
            DeltaTable(path).optimize.compact()
        paths.append(path)
    return paths


def build_iceberg(base: Path, n: int) -> tuple[dict[str, str], list[str]]:
    import pyarrow as pa
    from pyiceberg.catalog import load_catalog

    (base / "warehouse").mkdir()
    props = {
        "type": "sql",
        "uri": f"sqlite:///{base}/catalog.db",
        "warehouse": f"file://{base}/warehouse",
    }
    cat = load_catalog("bench", **props)
    cat.create_namespace("b")
    names = []
    data = pa.table({"id": pa.array([1], pa.int64())})
    for i in range(n):
        table = cat.create_table(f"b.t{i:04}", schema=data.schema)
        table.append(data)
        names.append(f"b.t{i:04}")
    return props, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fresh-lake-bench-") as tmp:
        base = Path(tmp)
        t = time.perf_counter()
        paths = build_delta(base, args.tables)
        props, names = build_iceberg(base, args.tables)
        print(
            f"built {args.tables} Delta + {args.tables} Iceberg tables in "
            f"{time.perf_counter() - t:.1f} s"
        )
        catalogs = validate_settings({"catalogs": {"bench": props}}).catalogs
        settings = Settings(base_dir=base, catalogs=catalogs)
        now = datetime.now(UTC)
        deltas = [contract(f"d{i}", DeltaSource(p)) for i, p in enumerate(paths)]
        icebergs = [contract(f"i{i}", IcebergSource(n, "bench")) for i, n in enumerate(names)]

        def fresh_round(contracts: list[Contract]) -> None:
            got = read_contracts(contracts, settings, now)
            bad = [r.error for r in got.values() if r.error or r.last_update is None]
            assert not bad, bad[:3]

        def delta_by_hand() -> None:
            from deltalake import DeltaTable

            for p in paths:
                DeltaTable(p).history(1)

        catalog: Any = None

        def iceberg_by_hand() -> None:
            nonlocal catalog
            from pyiceberg.catalog import load_catalog

            catalog = catalog or load_catalog("bench", **props)
            for n in names:
                snap = catalog.load_table(n).current_snapshot()
                assert snap is not None

        fresh_round(deltas[:1])  # imports and first-use costs outside the timing
        fresh_round(icebergs[:1])
        delta_by_hand()
        iceberg_by_hand()
        rows = [
            (
                "Delta",
                median_of(lambda: fresh_round(deltas), args.rounds),
                median_of(delta_by_hand, args.rounds),
            ),
            (
                "Iceberg",
                median_of(lambda: fresh_round(icebergs), args.rounds),
                median_of(iceberg_by_hand, args.rounds),
            ),
        ]
        print("| format | tables | fresh round (s) | by hand (s) | ratio |")
        print("| --- | --- | --- | --- | --- |")
        for fmt, ours, theirs in rows:
            print(f"| {fmt} | {args.tables} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
