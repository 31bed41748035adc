"""Soak under fire (SPEC section 16): three `fresh serve` replicas on a real PostgreSQL state
store, 1,000 contracts on a PostgreSQL warehouse whose loaders keep writing, and trouble:

- one replica killed with -9 every 30 s (a, b, c in turn), started again 12 s later;
- the state store's PostgreSQL stopped (`-m fast`) and started again once, 5 s later;
- the warehouse's PostgreSQL down for a minute;
- the alert receiver (apprise `json://`) answering 500 to a third of its requests, at random.

A fifth of the tables pause long enough to go stale and come back, once per ~100 s, so
contracts keep firing and resolving. At the end the loaders all write steadily, and the
soak waits (the drain) until every transition is decided, every outbox row sent and every
contract's alert caught up with its status. Then it prints transitions recorded (from the
state store), delivered, duplicated (only sends cut by a kill or by the store's restart
may repeat: it counts the kills that cut one), lost (must be 0), failover times (kill to
every contract of the victim checked again) and peak RSS per replica. Exit 1 when anything
was lost or duplicated without a cut send to explain it.

Run: .venv/bin/python bench/soak.py [--minutes 10] [--contracts 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.soak_parts import (
    FlakyReceiver,
    Loaders,
    Tally,
    plan_tables,
    read_outbox,
    read_transitions,
    tally,
    unreconciled,
    write_project,
)
from tests import servers
from tests.integration.replicas_rig import Rig

NAMES = ("a", "b", "c")


@dataclass
class Kill:
    """One kill -9 and what it interrupted."""

    victim: str
    at: datetime
    t0: float
    held: set[str]
    cut: set[int]  # outbox rows the victim had claimed and not marked sent
    took: float | None = None


@dataclass
class Soak:
    rig: Rig
    engine: sa.Engine
    kills: list[Kill] = field(default_factory=list)
    cut: set[int] = field(default_factory=set)
    store_cut: set[int] = field(default_factory=set)
    peak_kb: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    killed_pids: set[int] = field(default_factory=set)

    def say(self, t0: float, text: str) -> None:
        line = f"[{time.monotonic() - t0:6.1f}s] {text}"
        self.events.append(line)
        print(line, flush=True)

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Run a read on the state store, retrying while it is down (restart window)."""
        for _ in range(60):
            try:
                with self.engine.connect() as conn:
                    return list(conn.execute(sa.text(sql), params))
            except sa.exc.OperationalError:
                time.sleep(0.5)
        raise RuntimeError(f"state store unreachable for 30 s: {sql}")

    # --- the replicas' memory ---

    def sample_rss(self) -> None:
        with self.lock:
            replicas = list(self.rig.replicas.values())
        for r in replicas:
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{r.proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        kb = int(line.split()[1])
                        self.peak_kb[r.name] = max(self.peak_kb.get(r.name, 0), kb)

    def watch(self, t0: float) -> None:
        """Every second: peak RSS, replicas that died on their own (started again)."""
        while not self.stopping.is_set():
            self.sample_rss()
            with self.lock:
                for name, r in list(self.rig.replicas.items()):
                    if r.proc.poll() is not None and r.proc.pid not in self.killed_pids:
                        self.unexpected.append(f"{name} exited {r.proc.returncode}")
                        self.say(t0, f"replica {name} exited {r.proc.returncode} by itself")
                        self.killed_pids.add(r.proc.pid)
                        self.rig.launch(name)
            self.stopping.wait(1.0)

    # --- kill -9 ---

    def kill(self, victim: str, t0: float) -> Kill:
        held = {
            r.contract
            for r in self.query(
                "SELECT contract FROM leases WHERE holder = :h AND expires_at > now()", h=victim
            )
        }
        self.sample_rss()
        with self.lock:
            r = self.rig.replicas[victim]
            self.killed_pids.add(r.proc.pid)
            killed_at = datetime.now(UTC)
            start = time.monotonic()
            r.kill()
        cut = {
            row.id
            for row in self.query(
                "SELECT id FROM outbox WHERE claimed_by = :h AND sent_at IS NULL "
                "AND claimed_until > now()",
                h=victim,
            )
        }
        self.cut |= cut
        k = Kill(victim, killed_at, start, held, cut)
        self.kills.append(k)
        self.say(t0, f"kill -9 {victim} ({len(held)} contracts held, {len(cut)} claims cut)")
        threading.Thread(target=self.time_takeover, args=(k,), daemon=True).start()
        return k

    def time_takeover(self, k: Kill) -> None:
        """Seconds from the kill until every contract the victim held is checked again."""
        names = sorted(k.held)
        while time.monotonic() - k.t0 < 180:
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        sa.text(
                            "SELECT count(*) FROM contract_state WHERE name = ANY(:n) "
                            "AND checked_at > :at"
                        ),
                        {"n": names, "at": k.at},
                    ).scalar_one()
                if rows >= len(names):
                    k.took = time.monotonic() - k.t0
                    return
            except sa.exc.OperationalError:
                pass
            time.sleep(0.1)

    def restart(self, victim: str) -> None:
        with self.lock:
            self.rig.launch(victim)


def run(args: argparse.Namespace) -> int:
    total = args.minutes * 60
    tables = plan_tables(args.contracts, args.flapping)
    receiver = FlakyReceiver(fail_rate=args.fail_rate)
    with (
        servers.postgres_server() as state_pg,
        servers.postgres_server() as wh_pg,
        tempfile.TemporaryDirectory(prefix="fresh-soak-") as tmp,
    ):
        directory = Path(tmp)
        state_url = servers.create_database(state_pg.url, "fresh_state")
        wh_url = servers.create_database(wh_pg.url, "warehouse")
        loaders = Loaders(wh_url, tables)
        loaders.create()
        write_project(
            directory, wh_url, tables, receiver, owners=args.owners, lease_ttl=args.lease_ttl
        )
        rig = Rig(directory, state_url, "", 0)
        engine = sa.create_engine(state_url, pool_pre_ping=True, pool_size=2)
        soak = Soak(rig, engine)
        print(
            f"soak: {len(tables)} contracts ({sum(t.flaps for t in tables)} flapping), "
            f"3 replicas, {args.minutes:g} min, kill every {args.kill_every:g}s, "
            f"lease_ttl {args.lease_ttl}",
            flush=True,
        )
        loaders.start()
        for n in NAMES:
            rig.launch(n)
        rig.wait_up(120)
        t0 = time.monotonic()
        watcher = threading.Thread(target=soak.watch, args=(t0,), daemon=True)
        watcher.start()
        code = 1
        try:
            code = chaos(soak, state_pg, wh_pg, loaders, receiver, total, args, t0)
        finally:
            soak.stopping.set()
            watcher.join(5)
            loaders.stop()
            rig.stop_all()
            receiver.stop()
            engine.dispose()
            if args.logs:
                keep = Path(args.logs)
                keep.mkdir(parents=True, exist_ok=True)
                for log in directory.glob("replica-*.log"):
                    shutil.copy(log, keep / log.name)
    return code


def chaos(
    soak: Soak,
    state_pg: servers.PgServer,
    wh_pg: servers.PgServer,
    loaders: Loaders,
    receiver: FlakyReceiver,
    total: float,
    args: argparse.Namespace,
    t0: float,
) -> int:
    every = args.kill_every
    kills = [every * (i + 1) for i in range(int(total // every)) if every * (i + 1) < total]
    store_at = (int(total * 0.35 // every) * every) + every * 0.4
    wh_at = (int(total * 0.6 // every) * every) + every * 0.2
    wh_down = min(60.0, total / 4)
    restarts: list[tuple[float, str]] = []
    plan: list[tuple[float, str]] = [(k, "kill") for k in kills]
    plan += [(store_at, "store"), (wh_at, "wh-stop"), (wh_at + wh_down, "wh-start")]
    plan.sort()
    victim_i = 0

    def now() -> float:
        return time.monotonic() - t0

    while plan or restarts:
        due = min([p[0] for p in plan] + [r[0] for r in restarts])
        time.sleep(max(0.0, due - now()))
        if restarts and restarts[0][0] <= now():
            _, name = restarts.pop(0)
            soak.restart(name)
            soak.say(t0, f"replica {name} started again")
            continue
        _, what = plan.pop(0)
        if what == "kill":
            victim = NAMES[victim_i % 3]
            victim_i += 1
            soak.kill(victim, t0)
            restarts.append((now() + 12, victim))
            restarts.sort()
        elif what == "store":
            claimed = soak.query(
                "SELECT id FROM outbox WHERE sent_at IS NULL AND claimed_until > now()"
            )
            state_pg.stop()
            soak.store_cut |= {r.id for r in claimed}
            soak.say(t0, f"state store stopped ({len(claimed)} claims open)")
            time.sleep(5)
            state_pg.start()
            soak.say(t0, "state store started again")
        elif what == "wh-stop":
            wh_pg.stop()
            soak.say(t0, f"warehouse stopped for {wh_down:g}s")
        elif what == "wh-start":
            wh_pg.start()
            soak.say(t0, "warehouse started again")
    time.sleep(max(0.0, total - now()))
    soak.say(t0, "chaos over: loaders steady, draining")
    loaders.steady = True
    drained = drain(soak, receiver, args.drain)
    soak.say(t0, "drained" if drained else f"drain not finished after {args.drain:g}s")
    for name in NAMES:  # the last kill's restart may still be starting
        with contextlib.suppress(AssertionError):
            soak.rig.replicas[name].up()
    soak.sample_rss()
    # The replicas keep checking while we count: a transition recorded after the drain (a
    # resolve once the last restarted replica catches up) is in flight, not lost. Count
    # again until nothing is missing (at most a minute); a real loss stays missing
    # through every count, so the figures reported are one consistent snapshot.
    deadline = time.monotonic() + min(args.drain, 60.0)
    while True:
        with soak.engine.connect() as conn:
            t = tally(
                read_transitions(conn),
                read_outbox(conn),
                receiver.snapshot(),
                cut=soak.cut | soak.store_cut,
                unreconciled=unreconciled(conn),
            )
        if not t.lost or time.monotonic() >= deadline:
            break
        time.sleep(3)
    return report(soak, t, receiver, loaders)


def drain(soak: Soak, receiver: FlakyReceiver, limit: float) -> bool:
    """Wait until every transition is decided, every row sent and received, and every
    contract's alert has seen its status; False if that takes longer than `limit` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(3)
        with contextlib.suppress(sa.exc.OperationalError), soak.engine.connect() as conn:
            t = tally(
                read_transitions(conn),
                read_outbox(conn),
                receiver.snapshot(),
                cut=set(),
                unreconciled=unreconciled(conn),
            )
            if not t.lost:
                return True
    return False


def report(soak: Soak, t: Tally, receiver: FlakyReceiver, loaders: Loaders) -> int:
    took = [k.took for k in soak.kills if k.took is not None]
    cutting = [k for k in soak.kills if k.cut]
    print("\n=== soak figures ===")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(t.transitions.items()))
    print(f"transitions recorded: {sum(t.transitions.values())} ({kinds})")
    print("outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(t.outcomes.items())))
    print(
        f"delivered: {t.delivered} of {t.to_send} transitions to send, in {t.messages} "
        f"messages; receiver: {receiver.attempts} requests, {receiver.failed} answered 500, "
        f"{t.received} accepted"
    )
    print(
        f"duplicated: {t.duplicated} (of sends cut by a kill or the store restart: "
        f"{t.duplicated_cut}); kills that cut a send: {len(cutting)} of {len(soak.kills)}; "
        f"claims open at the store restart: {len(soak.store_cut)}"
    )
    print(f"lost: {len(t.lost)}")
    for line in t.lost[:20]:
        print(f"  {line}")
    if t.unmatched:
        print(f"received messages matching no outbox row: {t.unmatched}")
    if took:
        print(
            f"failover (kill -9 to every contract of the victim checked again), "
            f"{len(took)} kills: median {statistics.median(took):.2f}s, "
            f"worst {max(took):.2f}s"
            + (f", {len(soak.kills) - len(took)} not timed" if len(took) < len(soak.kills) else "")
        )
    print(
        "failover per kill (s): "
        + ", ".join("-" if k.took is None else f"{k.took:.1f}" for k in soak.kills)
    )
    print(
        "peak RSS per replica (MB, over every incarnation): "
        + ", ".join(f"{n} {kb / 1024:.0f}" for n, kb in sorted(soak.peak_kb.items()))
    )
    print(
        f"loader rows written: {loaders.rows}; replicas that died by themselves: "
        f"{len(soak.unexpected)}"
    )
    bad = bool(t.lost) or t.duplicated > t.duplicated_cut or t.unmatched > 0
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--contracts", type=int, default=1000)
    ap.add_argument("--flapping", type=float, default=0.2, help="share of tables that pause")
    ap.add_argument("--owners", type=int, default=10)
    ap.add_argument("--fail-rate", type=float, default=1 / 3, help="share of requests answered 500")
    ap.add_argument("--kill-every", type=float, default=30.0)
    ap.add_argument("--lease-ttl", default="5s")
    ap.add_argument("--drain", type=float, default=900.0, help="seconds the drain may take")
    ap.add_argument("--logs", help="copy the replicas' logs into this directory at the end")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the servers and replicas too
    sys.exit(run(args))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
