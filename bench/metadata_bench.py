"""One check of 1,000 metadata contracts (`table` without `column`) on a real MariaDB.

Starts a throwaway MariaDB (tests/servers.py), creates 1,000 written InnoDB tables in 10
databases, then times, in the same run:
- fresh: metadata.read_batch, one UNION ALL statement (one branch per database);
- baseline: 1,000 separate `update_time` lookups on one connection;
- the row-value form `(table_schema, table_name) IN (...)` as one query, for comparison.
Each is timed over loopback, then through a local TCP proxy that delays every packet by
half of `--rtt-ms` each way, as a warehouse across a network would.

    .venv/bin/python bench/metadata_bench.py [--tables 1000] [--rtt-ms 1]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from monitor.config.settings import Settings, Warehouse
from monitor.core.models import Contract, Expectation, TableSource
from monitor.sources.base import ReadContext
from monitor.sources.sql import metadata
from monitor.sources.sql.alchemy import dispose_engines
from tests import servers

SCHEMAS = 10


def start_delay_proxy(target_port: int, one_way: float) -> int:
    """A TCP proxy to 127.0.0.1:target_port adding `one_way` seconds per packet, per way."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(one_way)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    async def serve() -> None:
        server = await asyncio.start_server(handle, sock=listener)
        async with server:
            await server.serve_forever()

    threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
    return port


def median_of(fn: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--rtt-ms", type=float, default=1.0)
    args = parser.parse_args()
    why = servers.mariadb_missing()
    if why:
        sys.exit(f"cannot run: {why}")
    with servers.mariadb() as root_url:
        base = root_url.rsplit("/", 1)[0]
        engine = sa.create_engine(root_url)
        names: list[tuple[str, str]] = []
        t = time.perf_counter()
        with engine.begin() as conn:
            for s in range(SCHEMAS):
                conn.exec_driver_sql(f"CREATE DATABASE bench{s}")
            for i in range(args.tables):
                schema, table = f"bench{i % SCHEMAS}", f"t{i:05}"
                conn.exec_driver_sql(f"CREATE TABLE {schema}.{table} (id INT) ENGINE=InnoDB")
                conn.exec_driver_sql(f"INSERT INTO {schema}.{table} VALUES (1)")
                names.append((schema, table))
        print(
            f"metadata: {args.tables} InnoDB tables in {SCHEMAS} databases on MariaDB "
            f"(setup {time.perf_counter() - t:.1f} s)"
        )
        db_port = int(base.rsplit(":", 1)[1])
        measure(base + "/bench0", names, "loopback")
        proxy = start_delay_proxy(db_port, args.rtt_ms / 2000)
        measure(
            base.replace(f":{db_port}", f":{proxy}") + "/bench0",
            names,
            f"through a proxy adding {args.rtt_ms:g} ms round-trip time",
        )
        engine.dispose()


def measure(url: str, names: list[tuple[str, str]], where: str) -> None:
    """Time the three ways of reading every table's update_time at `url`."""
    settings = Settings(warehouses={"main": Warehouse(url=url)})
    ctx = ReadContext(settings=settings, now=datetime.now(UTC), warehouse="main")
    contracts = [
        Contract(
            name=f"{s}.{n}",
            owner="ops",
            warehouse="main",
            source=TableSource(table=f"{s}.{n}"),
            expectation=Expectation(error_after=timedelta(hours=1)),
        )
        for s, n in names
    ]

    def fresh() -> None:
        readings = metadata.read_batch(contracts, ctx)
        bad = [r for r in readings if r.last_update is None]
        assert not bad, bad[:3]

    reader = sa.create_engine(url)

    def separate() -> None:
        with reader.connect() as conn:
            for s, n in names:
                conn.execute(
                    sa.text(
                        "SELECT update_time FROM information_schema.tables "
                        "WHERE table_schema = :s AND table_name = :n"
                    ),
                    {"s": s, "n": n},
                ).one()

    def row_values() -> None:
        params = {}
        pairs = []
        for i, (s, n) in enumerate(names):
            params[f"s{i}"], params[f"n{i}"] = s, n
            pairs.append(f"(:s{i}, :n{i})")
        sql = (
            "SELECT table_schema, table_name, update_time FROM information_schema.tables "
            f"WHERE (table_schema, table_name) IN ({', '.join(pairs)})"
        )
        with reader.connect() as conn:
            rows = conn.execute(sa.text(sql), params).fetchall()
        assert len(rows) == len(names)

    fresh()
    separate()
    row_values()  # warm up: engines, pools, table cache
    t_fresh = median_of(fresh)
    t_sep = median_of(separate)
    t_rows = median_of(row_values)
    print(f" {where}:")
    print(f"  fresh: one UNION ALL statement        {t_fresh * 1000:8.1f} ms (median of 7)")
    print(f"  {len(names)} separate queries            {t_sep * 1000:8.1f} ms (median of 7)")
    print(f"  one (schema, name) IN (...) query      {t_rows * 1000:8.1f} ms (median of 7)")
    print(f"  ratio separate / fresh                 {t_sep / t_fresh:8.2f}x")
    print(f"  ratio row-value IN / fresh             {t_rows / t_fresh:8.2f}x")
    reader.dispose()
    dispose_engines()


if __name__ == "__main__":
    main()
