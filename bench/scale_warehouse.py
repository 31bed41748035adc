"""The generated warehouse of bench/scale.py: DuckDB (one file) or PostgreSQL (one database).

Both have one one-row table per contract, `table_<i>` with a TIMESTAMP column `t` holding
the time it was built (UTC, naive). On DuckDB, `duckdb_alone` is the same-run baseline of
what DuckDB costs by itself: a subprocess opens the file read-only as fresh does and reads
every table in fresh's UNION ALL chunks, and reports its RSS after the open and at its peak.
On PostgreSQL the warehouse is its own throwaway server (tests/servers.py), not a database
beside the replicas' state: it must exist before the single phase (SQLite state, no state
server) and last through both phases, and the state server's statement and commit counts
(pg_stat_statements, pg_stat_database) then see the state database alone.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from tests import servers

PG_BATCH = 2_000  # tables per DO block, each its own transaction (lock table: see below)
# 2,000 CREATE TABLEs hold 2,000+ locks until their commit; the default lock table
# (max_locks_per_transaction 64 x max_connections 100) has 6,400 slots for the whole server.
PG_OPTIONS = "-c max_locks_per_transaction=256"

_CREATE = """
DO $$
BEGIN
  FOR i IN {lo}..{hi} LOOP
    EXECUTE 'CREATE TABLE table_' || i || ' (t timestamp)';
    EXECUTE 'INSERT INTO table_' || i || ' VALUES ($1)' USING TIMESTAMP '{at}';
  END LOOP;
END
$$
"""


@contextlib.contextmanager
def postgres_warehouse(tables: int) -> Iterator[str]:
    """A throwaway PostgreSQL with database `fresh_wh` holding `tables` one-row tables;
    yields its `postgresql+psycopg://` URL (what fresh.yml's `main` warehouse points to)."""
    with servers.postgres(PG_OPTIONS) as server_url:
        url = servers.create_database(server_url, "fresh_wh")
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        t0 = time.perf_counter()
        try:
            with engine.connect() as conn:
                at = conn.execute(sa.text("SELECT now() AT TIME ZONE 'UTC'")).scalar_one()
                for lo in range(0, tables, PG_BATCH):
                    hi = min(lo + PG_BATCH, tables) - 1
                    conn.exec_driver_sql(_CREATE.format(lo=lo, hi=hi, at=at.isoformat(" ")))
                size = conn.execute(sa.text("SELECT pg_database_size(current_database())"))
                mb = size.scalar_one() / 1e6
        finally:
            engine.dispose()
        print(
            f"PostgreSQL warehouse: {tables:,} one-row tables in {time.perf_counter() - t0:.0f} s "
            f"(DO blocks of {PG_BATCH:,}, one transaction each), database {mb:.0f} MB"
        )
        yield url


# Run in a subprocess by `duckdb_alone`: nothing of fresh but its DuckDB open (read-only,
# locked configuration) and its chunk size.
_ALONE = r"""
import json, sys
from monitor.sources.duck_guard import connect_warehouse
from monitor.sources.sql.duckdb_reader import CHUNK

def rss(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0

path, tables = sys.argv[1], int(sys.argv[2])
start = rss("VmRSS:")
con = connect_warehouse(path)
opened = rss("VmRSS:")
for lo in range(0, tables, CHUNK):
    sql = " UNION ALL ".join(
        f'SELECT max("t") FROM "table_{i}"' for i in range(lo, min(lo + CHUNK, tables))
    )
    con.execute(sql).fetchall()
read = rss("VmRSS:")
con.close()
closed = rss("VmRSS:")
print(json.dumps({"start": start, "open": opened, "read": read, "peak": rss("VmHWM:"),
                  "closed": closed, "chunk": CHUNK}))
"""


def duckdb_alone(path: Path, tables: int) -> str:
    """DuckDB by itself on the generated file (a subprocess; one line to print)."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _ALONE, str(path), str(tables)],
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    m = json.loads(out.strip().splitlines()[-1])
    return (
        f"DuckDB alone (this file, read-only, one connection, {time.perf_counter() - t0:.0f} s): "
        f"open {m['open']:.0f} MB, open + read all {m['read']:.0f} MB "
        f"(peak {m['peak']:.0f} MB; chunks of {m['chunk']}; {m['start']:.0f} MB before the "
        f"open, {m['closed']:.0f} MB after the close)"
    )
