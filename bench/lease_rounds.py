"""Lease rounds alone (issue 17 item 3): three in-process `LeaseKeeper`s share N contracts on
a throwaway PostgreSQL; once settled, each runs `--rounds` more rounds. Prints per settled
round: wall time, statements, rows written and the database's execution time
(pg_stat_statements), so the cost of keeping leases alive can be compared across versions
without the checks, saves and scrapes of bench/scale.py around it.

Run: .venv/bin/python bench/lease_rounds.py [--contracts 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.serve.leases import LeaseKeeper
from monitor.store import Store
from tests import servers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    names = [f"gen.table_{i:06d}" for i in range(args.contracts)]
    with (
        tempfile.TemporaryDirectory(prefix="fresh-leases-") as tmp,
        servers.postgres(
            "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top"
        ) as pg,
    ):
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        url = servers.create_database(pg, "fresh_leases")
        db = sa.make_url(url).database
        with Store.open(url, Path(tmp)) as store:
            counts = {"statements": 0, "written": 0}

            def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
                counts["statements"] += 1
                verb = statement.lstrip().split(None, 1)[0].upper()
                if verb in ("INSERT", "UPDATE", "DELETE", "WITH"):
                    counts["written"] += max(cursor.rowcount, 0)

            ks = [
                LeaseKeeper(store, f"r{i}", timedelta(seconds=15), lambda: names) for i in range(3)
            ]
            t0 = time.perf_counter()
            for _ in range(2):
                for k in ks:
                    k.run_round()
            print(
                f"{args.contracts:,} contracts, 3 replicas: settled in "
                f"{time.perf_counter() - t0:.1f} s, held {[len(k.held()) for k in ks]}"
            )
            sa.event.listen(store.engine, "after_cursor_execute", seen)

            def db_ms() -> float:
                with admin.connect() as conn:
                    return float(
                        conn.execute(
                            sa.text(
                                "SELECT coalesce(sum(s.total_exec_time), 0) FROM "
                                "pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                                "WHERE d.datname = :db"
                            ),
                            {"db": db},
                        ).scalar_one()
                    )

            walls, cpus, dbs = [], [], []
            statements0, written0 = counts["statements"], counts["written"]
            for _ in range(args.rounds):
                for k in ks:
                    d0, c0, w0 = db_ms(), time.process_time(), time.perf_counter()
                    k.run_round()
                    walls.append(time.perf_counter() - w0)
                    cpus.append(time.process_time() - c0)
                    dbs.append(db_ms() - d0)
            n = len(walls)
            print(
                f"per settled round of one replica ({n} rounds): wall median "
                f"{statistics.median(walls) * 1000:.1f} ms (worst {max(walls) * 1000:.1f} ms), "
                f"replica CPU median {statistics.median(cpus) * 1000:.1f} ms, database execution "
                f"median {statistics.median(dbs):.1f} ms, "
                f"{(counts['statements'] - statements0) / n:.1f} statements, "
                f"{(counts['written'] - written0) / n:.0f} rows written"
            )
        admin.dispose()


if __name__ == "__main__":
    main()
