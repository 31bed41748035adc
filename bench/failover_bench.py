"""Scale-out on PostgreSQL (SPEC section 9): failover time, duplicate alerts, idle DB load.

Runs real `fresh serve` replicas against a throwaway PostgreSQL with pg_stat_statements:

1. Idle load: three replicas over N contracts with `check_every: 1h` and the default
   `lease_ttl: 15s`, for `--idle` seconds. Statements per second per replica, split into
   the lease rounds (heartbeat, renew, release, acquire) and everything else (alerts'
   reconcile and outbox polls, /readyz…). The baseline, measured in the same run: one
   replica alone on the same store (what a single PostgreSQL-backed serve costs anyway).
2. Failover: three replicas, `lease_ttl: 3s`, `check_every: 10s`; `--kills` times, kill -9
   the replica that holds a heartbeat contract whose job stops pinging at that moment,
   time until every contract it held has been checked again (against lease_ttl), count
   the alerts the local json:// receiver gets (one expected per kill: duplicates = extra),
   then restart the killed replica and wait for the leases to settle.

Run: .venv/bin/python bench/failover_bench.py [--contracts 300] [--kills 10] [--idle 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.store import Store
from tests import servers
from tests.integration.alert_receivers import HttpReceiver
from tests.integration.replicas_rig import Pinger, Rig, pick_name, wait_for

LEASE_WORDS = ("replicas", "leases")


def statements(admin: sa.Engine, db: str) -> dict[str, int]:
    """Calls per normalised statement in database `db` so far."""
    with admin.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT s.query, s.calls FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = :db"
            ),
            {"db": db},
        )
        return {r.query: int(r.calls) for r in rows}


def split(before: dict[str, int], after: dict[str, int]) -> tuple[int, int]:
    """(lease statements, other statements) executed between two snapshots."""
    lease = other = 0
    for q, n in after.items():
        d = n - before.get(q, 0)
        if d <= 0:
            continue
        low = q.lower()
        is_lease = any(f" {w} " in f" {low} " or f"{w} (" in low for w in LEASE_WORDS)
        if low in ("begin", "commit", "rollback", "select $1"):
            continue  # transaction control and pool pings: counted by neither
        if is_lease:
            lease += d
        else:
            other += d
    return lease, other


def idle_load(pg: str, admin: sa.Engine, tmp: Path, contracts: int, seconds: float) -> None:
    rows = []
    for replicas in (1, 3):
        url = servers.create_database(pg, "fresh_idle")
        db = sa.make_url(url).database or ""
        Store.open(url, tmp).close()
        directory = Path(tempfile.mkdtemp(dir=tmp))
        rig = Rig(directory, url, "json://127.0.0.1:9/none", contracts, "1h", "15s")
        rig.write()
        try:
            for i in range(replicas):
                rig.launch(f"r{i}")
            rig.wait_up()
            time.sleep(20)  # first checks and lease settling are not idle
            with admin.connect() as conn:
                xact0 = conn.execute(
                    sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = :d"),
                    {"d": db},
                ).scalar_one()
            s0 = statements(admin, db)
            t0 = time.monotonic()
            time.sleep(seconds)
            s1 = statements(admin, db)
            with admin.connect() as conn:
                xact1 = conn.execute(
                    sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = :d"),
                    {"d": db},
                ).scalar_one()
            dt = time.monotonic() - t0
        finally:
            rig.stop_all()
        lease, other = split(s0, s1)
        rows.append(
            (
                replicas,
                lease / dt / replicas,
                other / dt / replicas,
                (xact1 - xact0) / dt / replicas,
            )
        )
    print(
        f"\nidle database load per replica ({contracts} contracts, lease_ttl 15s, {seconds:.0f}s):"
    )
    print("  replicas  lease stmts/s  other stmts/s  commits/s")
    for n, lease, other, xact in rows:
        print(f"  {n:8d}  {lease:13.2f}  {other:13.2f}  {xact:9.2f}")
    base = rows[0]
    three = rows[1]
    print(
        f"  3 replicas vs 1: {three[1] + three[2]:.2f} vs {base[1] + base[2]:.2f} statements/s "
        f"per replica (ratio {(three[1] + three[2]) / max(base[1] + base[2], 1e-9):.2f}); "
        f"lease rounds are {three[1]:.2f} statements/s of it"
    )


def failover(pg: str, tmp: Path, contracts: int, kills: int) -> None:
    url = servers.create_database(pg, "fresh_failover")
    Store.open(url, tmp).close()
    names = ["a", "b", "c"]
    victims = [names[(2 + i) % 3] for i in range(kills)]
    beats = [pick_name(f"jobs.kill{i}", (v, names)) for i, v in enumerate(victims)]
    receiver = HttpReceiver()
    directory = Path(tempfile.mkdtemp(dir=tmp))
    ttl, every = 3.0, 10.0
    rig = Rig(
        directory,
        url,
        receiver.url("/ops"),
        contracts,
        f"{every:g}s",
        f"{ttl:g}s",
        heartbeats={b: "3s" for b in beats},
    )
    rig.write()
    pinger = Pinger(rig, beats)
    everything = {f"t.table_{i}" for i in range(contracts)} | set(beats)
    times: list[float] = []
    received: list[int] = []
    try:
        for n in names:
            rig.launch(n)
        rig.wait_up()

        def settled() -> bool:
            h = rig.holders()
            return set(h) == everything and set(h.values()) == set(names)

        for i, (victim, beat) in enumerate(zip(victims, beats, strict=True)):
            wait_for(settled, 60)
            time.sleep(ttl)  # a renewal or two in the settled state
            held = {n for n, h in rig.holders().items() if h == victim}
            assert beat in held, (beat, victim)
            before = len(receiver.received)
            pinger.drop(beat)
            killed_at = datetime.now(UTC)
            t0 = time.monotonic()
            rig.replicas[victim].kill()

            def taken_over(held: set[str] = held, killed_at: datetime = killed_at) -> bool:
                seen = rig.checked_at()
                return all(seen.get(n, killed_at) > killed_at for n in held)

            wait_for(taken_over, 120, step=0.05)
            times.append(time.monotonic() - t0)
            receiver.wait_for(before + 1, timeout=30)
            time.sleep(3)  # a duplicate would arrive by now
            received.append(len(receiver.received) - before)
            print(
                f"  kill {i + 1:2d} ({victim}, {len(held)} contracts): checked again after "
                f"{times[-1]:.2f}s; alerts received {received[-1]}"
            )
            rig.launch(victim)
            rig.wait_up()
    finally:
        pinger.close()
        rig.stop_all()
        receiver.stop()
    dupes = sum(r - 1 for r in received if r > 1)
    lost = sum(1 for r in received if r == 0)
    print(
        f"\nfailover over {kills} kills (lease_ttl {ttl:g}s, check_every {every:g}s, "
        f"{contracts + kills} contracts): median {statistics.median(times):.2f}s, "
        f"worst {max(times):.2f}s = {max(times) / ttl:.2f} x lease_ttl "
        f"(target <= lease_ttl + one lease round {ttl * 4 / 3:.1f}s + read time)"
    )
    print(
        f"alerts: {sum(received)} received for {kills} transitions: duplicates {dupes}, lost {lost}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=int, default=300)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--idle", type=float, default=30.0)
    args = ap.parse_args()
    with servers.postgres(
        "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
    ) as pg:
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        with tempfile.TemporaryDirectory(prefix="fresh-failover-") as tmp:
            if args.idle > 0:
                idle_load(pg, admin, Path(tmp), args.contracts, args.idle)
            if args.kills > 0:
                failover(pg, Path(tmp), args.contracts, args.kills)
        admin.dispose()


if __name__ == "__main__":
    main()
