"""How to batch table+column reads: one UNION ALL vs separate max() queries.

Prints wall times for N tables x 1,000 rows, in-process DuckDB and PostgreSQL over TCP
(a throwaway server from tests/servers.py), as ratios against separate queries on one
connection measured in the same run. Run: .venv/bin/python bench/bench_sql_batching.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
CHUNK = 100  # PostgreSQL (monitor.sources.sql.batching.BATCH)
DUCK_CHUNK = 32  # DuckDB (monitor.sources.sql.duckdb_reader.CHUNK)


def timed(fn: Callable[[], object], reps: int = 3) -> float:
    """Best of `reps` wall times, in seconds."""
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def in_threads(parts: list[Callable[[], object]]) -> None:
    threads = [threading.Thread(target=p) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def report(title: str, results: dict[str, float]) -> None:
    base = next(iter(results.values()))
    print(f"\n{title} ({N} tables x 1,000 rows)")
    for name, secs in results.items():
        print(
            f"  {name:<44} {secs * 1000:8.1f} ms  {secs / N * 1000:6.3f} ms/table  "
            f"x{base / secs:5.2f} vs first"
        )


def one(i: int) -> str:
    return f'SELECT max("updated_at") FROM "t{i}"'


def union(ids: range | list[int]) -> str:
    return "\nUNION ALL\n".join(f'SELECT {i} AS k, max("updated_at") FROM "t{i}"' for i in ids)


def chunks(ids: list[int], size: int = CHUNK) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def fresh_reader(url: str, chunk: int | None = None) -> Callable[[], object]:
    """The whole read path of fresh (dispatcher + reader) on N table+column contracts."""
    from datetime import UTC, datetime, timedelta

    from monitor.config.settings import Settings, Warehouse
    from monitor.core.models import Contract, Expectation, TableSource
    from monitor.sources import read_contracts
    from monitor.sources.sql import duckdb_reader as sql_duckdb

    settings = Settings(warehouses={"main": Warehouse(url=url)})
    contracts = [
        Contract(
            name=f"t{i}",
            owner="o",
            warehouse="main",
            source=TableSource(table=f"t{i}", column="updated_at"),
            expectation=Expectation(error_after=timedelta(hours=1)),
        )
        for i in range(N)
    ]

    def run() -> None:
        if chunk is not None:
            sql_duckdb.CHUNK = chunk
        got = read_contracts(contracts, settings, datetime.now(UTC))
        assert not any(r.error for r in got.values()), next(iter(got.values()))

    return run


def bench_duckdb(folder: Path) -> None:
    import duckdb

    path = str(folder / "w.duckdb")
    con = duckdb.connect(path)
    for i in range(N):
        con.execute(
            f"CREATE TABLE t{i} AS SELECT i, TIMESTAMP '2026-11-27' + to_seconds(i) AS updated_at "
            "FROM range(1000) r(i)"
        )
    con.close()
    ro = duckdb.connect(path, read_only=True)
    ids = list(range(N))

    def separate(cur: duckdb.DuckDBPyConnection, part: list[int]) -> None:
        for i in part:
            cur.execute(one(i)).fetchall()

    def two_cursors() -> None:
        curs = [ro.cursor(), ro.cursor()]
        in_threads([lambda c=c, k=k: separate(c, ids[k::2]) for k, c in enumerate(curs)])

    results = {
        "separate queries, 1 cursor": timed(lambda: separate(ro.cursor(), ids)),
        "separate queries, 2 cursors on 2 threads": timed(two_cursors),
        f"UNION ALL chunks of {DUCK_CHUNK}, 1 cursor": timed(
            lambda: [ro.execute(union(c)).fetchall() for c in chunks(ids, DUCK_CHUNK)]
        ),
        f"UNION ALL chunks of {CHUNK}, 1 cursor": timed(
            lambda: [ro.execute(union(c)).fetchall() for c in chunks(ids)]
        ),
        f"one {N}-way UNION ALL": timed(lambda: ro.execute(union(ids)).fetchall(), reps=1),
    }
    ro.close()
    results["open read-only + close (once per batch)"] = timed(
        lambda: duckdb.connect(path, read_only=True).close()
    )
    url = f"duckdb:///{path}"
    results["fresh read_contracts, one query each"] = timed(fresh_reader(url, 1), reps=5)
    results[f"fresh read_contracts, chunks of {DUCK_CHUNK}"] = timed(
        fresh_reader(url, DUCK_CHUNK), reps=5
    )
    report("DuckDB, in-process", results)


def bench_postgres() -> None:
    import psycopg

    from tests import servers

    if servers.postgres_missing():
        print("\nPostgreSQL: skipped,", servers.postgres_missing())
        return
    with servers.postgres() as url:
        dsn = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn, autocommit=True) as c:
            for i in range(N):
                c.execute(
                    f"CREATE TABLE t{i} AS SELECT i, TIMESTAMP '2026-11-27' + i * interval '1s' "
                    "AS updated_at FROM generate_series(0, 999) i"
                )
            c.execute("ANALYZE")
        conns = [psycopg.connect(dsn) for _ in range(4)]
        ids = list(range(N))

        def separate(conn: psycopg.Connection[tuple[object, ...]], part: list[int]) -> None:
            for i in part:
                conn.execute(one(i)).fetchall()
            conn.rollback()

        def batched(conn: psycopg.Connection[tuple[object, ...]], part: list[int]) -> None:
            for c in chunks(part):
                conn.execute(union(c)).fetchall()
            conn.rollback()

        def on(k: int, fn: Callable[..., None]) -> None:
            in_threads([lambda j=j: fn(conns[j], ids[j::k]) for j in range(k)])

        results = {
            "separate queries, 1 connection": timed(lambda: separate(conns[0], ids)),
            "separate queries, 4 connections": timed(lambda: on(4, separate)),
            f"UNION ALL chunks of {CHUNK}, 1 connection": timed(lambda: batched(conns[0], ids)),
            f"UNION ALL chunks of {CHUNK}, 4 connections": timed(lambda: on(4, batched)),
        }
        for conn in conns:
            conn.close()
        results["fresh read_contracts (4 connections, batched)"] = timed(fresh_reader(url))
        report("PostgreSQL 15 over TCP (127.0.0.1)", results)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        bench_duckdb(Path(tmp))
    bench_postgres()
