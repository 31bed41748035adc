"""Scale (issue 17): `fresh serve` over 100,000 contracts, alone and as three replicas.

One generated warehouse (one one-row table per contract, `check_every: 5m`): a DuckDB file
(`--warehouse duckdb`, the default; DuckDB alone on it is measured first, in a subprocess,
as the same-run baseline of what its catalog costs) or a PostgreSQL database on its own
throwaway server (`--warehouse postgres`; bench/scale_warehouse.py), and:

1. `single`: one `fresh serve` on the default SQLite state store, scraped (`/metrics`,
   which is every contract there) every `--scrape-every` seconds;
2. `replicas`: three replicas sharing a throwaway PostgreSQL state store (pg_stat_statements
   loaded), each scraped with `/metrics?scope=held` every `--scrape-every` seconds, and
   `--full-scrapes` times each with the full `/metrics` (every contract, as before
   scope=held existed) for comparison.

Per process: RSS (end and peak), CPU seconds per round of reads and CPU share of one core
between rounds (the scrapes and lease rounds included), `/metrics` scrape time and size
(held and full), and the state database's statements and commits per second (between rounds
and over the run). A round is read from the service itself: the 15 s windows between two
scrapes in which it read anything, from the `batch_done` lines of its log (one per batch,
read to saved); "between rounds" is every other window. The read counter
(`fresh_check_duration_seconds_count`) moves only once a whole batch is judged, so a
window spent inside one long batch read, or in the save after it, looked idle by it (that
figure is printed beside, for comparison).
Targets: RSS <= 1 GB per replica, CPU <= 15 % of a core between rounds, scrape <= 3 s.

Run: .venv/bin/python bench/scale.py [--contracts 100000] [--minutes 7] [--phases single,replicas]
    [--warehouse duckdb|postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.failover_bench import split, statements
from bench.scale_warehouse import duckdb_alone, postgres_warehouse
from bench.serve_bench import cpu_seconds, hwm_mb, rss_mb
from monitor.store import Store
from tests import servers
from tests.integration.replicas_rig import Replica, Rig

READS = re.compile(rb"^fresh_check_duration_seconds_count\{[^}]*\} (\S+)$", re.M)
SAMPLES = re.compile(rb"^fresh_status\{", re.M)


@dataclass
class Scrape:
    """One GET of /metrics."""

    at: float  # monotonic
    scope: str
    seconds: float
    size: int
    contracts: int  # fresh_status series / 4 (one per status)
    reads: float  # this replica's fresh_check_duration_seconds_count


@dataclass
class Watched:
    """What was measured of one replica."""

    replica: Replica
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, CPU s)
    rss: list[float] = field(default_factory=list)
    hwm: float = 0.0  # the kernel's own peak (VmHWM), which a 1 s sample can miss
    scrapes: list[Scrape] = field(default_factory=list)


def get_metrics(r: Replica, scope: str) -> Scrape:
    path = "/metrics" if scope == "all" else f"/metrics?scope={scope}"
    t0 = time.perf_counter()
    with urllib.request.urlopen(r.url + path, timeout=300) as resp:
        body = resp.read()
    took = time.perf_counter() - t0
    reads = sum(float(v) for v in READS.findall(body))
    return Scrape(time.monotonic(), scope, took, len(body), len(SAMPLES.findall(body)) // 4, reads)


def sample_processes(watched: list[Watched], stop: threading.Event) -> None:
    while not stop.is_set():
        for w in watched:
            pid = w.replica.proc.pid
            try:
                w.cpu.append((time.monotonic(), cpu_seconds(pid)))
                w.rss.append(rss_mb(pid))
                w.hwm = max(w.hwm, hwm_mb(pid))
            except OSError:
                pass
        stop.wait(1.0)


def cpu_between(w: Watched, t0: float, t1: float) -> float:
    """CPU seconds the process used between two monotonic instants (from the samples)."""

    def at(t: float) -> float:
        best = min(w.cpu, key=lambda s: abs(s[0] - t))
        return best[1]

    return at(t1) - at(t0)


@dataclass
class Windows:
    """The scrape-to-scrape windows of one replica: those with reads (rounds), those without."""

    rounds: list[tuple[float, float]]  # merged consecutive busy windows
    idle: list[tuple[float, float]]


def batches(w: Watched) -> list[tuple[float, float]]:
    """When the replica was reading, on this process's monotonic clock: one (start, end) per
    `batch_done` line of its log (the line's time minus the batch's `seconds`: read, judged
    and saved). Exact, where the read counter moves only once a whole batch is judged."""
    offset = time.time() - time.monotonic()  # log times are wall clock, ours monotonic
    out = []
    for e in w.replica.events():
        if e.get("event") != "batch_done":
            continue
        end = datetime.fromisoformat(str(e["time"])).timestamp() - offset
        out.append((end - float(e["seconds"]), end))  # type: ignore[arg-type]
    return out


def windows(w: Watched, scope: str, by: str = "batches") -> Windows:
    """Classify each window between two scrapes of `scope`: a round when the replica read
    anything in it (`by="batches"`, from its log), or, `by="counter"` (how this bench did it
    before), when its `fresh_check_duration_seconds_count` moved, which misses a batch read
    over a whole window and the save after it."""
    seq = [s for s in w.scrapes if s.scope == scope]
    reading = batches(w) if by == "batches" else []
    busy, idle = [], []
    for a, b in itertools.pairwise(seq):
        if by == "batches":
            hit = any(start < b.at and end > a.at for start, end in reading)
        else:
            hit = b.reads > a.reads
        (busy if hit else idle).append((a.at, b.at))
    rounds: list[tuple[float, float]] = []
    for start, end in busy:
        if rounds and abs(rounds[-1][1] - start) < 1e-6:
            rounds[-1] = (rounds[-1][0], end)
        else:
            rounds.append((start, end))
    return Windows(rounds, idle)


def scrape_loop(
    watched: list[Watched],
    minutes: float,
    every: float,
    scope: str,
    full_at: list[float],
    on_tick: object = None,
) -> None:
    """Scrape every replica in `scope` every `every` s, and fully at the `full_at` offsets."""
    t_start = time.monotonic()
    end = t_start + minutes * 60
    tick = t_start
    pending = sorted(full_at)
    while time.monotonic() < end:
        for w in watched:
            w.scrapes.append(get_metrics(w.replica, scope))
        if on_tick is not None:
            on_tick()  # type: ignore[operator]
        if pending and time.monotonic() - t_start >= pending[0]:
            pending.pop(0)
            for w in watched:
                w.scrapes.append(get_metrics(w.replica, "all"))
        tick += every
        time.sleep(max(0.0, tick - time.monotonic()))
    for w in watched:  # the closing scrape ends the last window
        w.scrapes.append(get_metrics(w.replica, scope))


def report(title: str, watched: list[Watched], scope: str, baseline: str) -> None:
    print(f"\n{title}")
    if baseline:
        print(f"  {baseline}")
    for w in watched:
        win = windows(w, scope)
        idle_s = sum(b - a for a, b in win.idle)
        idle_cpu = sum(cpu_between(w, a, b) for a, b in win.idle)
        per_round = [cpu_between(w, a, b) for a, b in win.rounds]
        old = windows(w, scope, by="counter")
        old_s = sum(b - a for a, b in old.idle)
        old_cpu = sum(cpu_between(w, a, b) for a, b in old.idle)
        print(
            f"  replica {w.replica.name}: RSS {w.rss[-1]:.0f} MB at the end, "
            f"peak {max(w.rss):.0f} MB sampled, {w.hwm:.0f} MB VmHWM (target <= 1024 MB)"
        )
        print(
            f"    CPU between rounds {100 * idle_cpu / max(idle_s, 1e-9):.1f} % of a core "
            f"over {idle_s:.0f} s (target <= 15 %); per round "
            + ", ".join(
                f"{c:.1f} s CPU in {b - a:.0f} s"
                for c, (a, b) in zip(per_round, win.rounds, strict=True)
            )
        )
        print(
            f"    (by the read counter alone, as this bench did before: "
            f"{100 * old_cpu / max(old_s, 1e-9):.1f} % over {old_s:.0f} s; "
            f"{len(batches(w))} batches logged)"
        )
        events: dict[str, int] = {}
        for e in w.replica.events():
            name = str(e.get("event", ""))
            if name.startswith("lease") or e.get("level") in ("warning", "error"):
                events[name] = events.get(name, 0) + 1
        print(f"    lease and warning events logged: {events or 'none'}")
        for sc in ("held", "all"):
            got = [s for s in w.scrapes if s.scope == sc]
            if not got:
                continue
            times = [s.seconds for s in got]
            print(
                f"    /metrics{'?scope=held' if sc == 'held' else ''}: {len(got)} scrapes, median "
                f"{statistics.median(times):.2f} s, worst {max(times):.2f} s (target <= 3 s), "
                f"{got[-1].size / 1e6:.1f} MB, {got[-1].contracts:,} contracts"
            )


def build(directory: Path, args: argparse.Namespace, stack: contextlib.ExitStack) -> Rig:
    """The project and its warehouse (a PostgreSQL one lives as long as `stack`); sets
    `args.baseline`, the line printed beside each phase's RSS."""
    rig = Rig(directory, "", "json://127.0.0.1:9/none", args.contracts, "5m", args.lease_ttl)
    args.baseline = ""
    t0 = time.perf_counter()
    if args.warehouse == "postgres":
        rig.warehouse_url = stack.enter_context(postgres_warehouse(args.contracts))
        rig.write_config()
    else:
        rig.write()
    print(
        f"built {args.contracts:,} tables ({args.warehouse}) and contracts "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    if args.warehouse == "duckdb":
        args.baseline = duckdb_alone(directory / "warehouse.duckdb", args.contracts)
        print(args.baseline)
    return rig


def launch(rig: Rig, names: list[str], state_url: str) -> list[Watched]:
    t0 = time.perf_counter()
    for n in names:
        rig.launch(n, state_url)
    rig.wait_up(timeout=600)
    print(f"{len(names)} fresh serve up (HTTP answering) in {time.perf_counter() - t0:.0f} s")
    return [Watched(rig.replicas[n]) for n in names]


def single(rig: Rig, args: argparse.Namespace) -> None:
    rig.replicas.clear()
    watched = launch(rig, ["solo"], "sqlite:///.fresh/state.db")
    stop = threading.Event()
    sampler = threading.Thread(target=sample_processes, args=(watched, stop), daemon=True)
    sampler.start()
    try:
        scrape_loop(watched, args.minutes, args.scrape_every, "all", [])
    finally:
        stop.set()
        rig.stop_all()
    report(
        f"one fresh serve, {args.contracts:,} contracts on {args.warehouse}, SQLite state, "
        f"check_every 5m, {args.minutes:g} min, /metrics every {args.scrape_every:g} s",
        watched,
        "all",
        args.baseline,
    )


def replicas(rig: Rig, args: argparse.Namespace) -> None:
    with servers.postgres(
        "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top "
        "-c max_connections=200"
    ) as pg:
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        url = servers.create_database(pg, "fresh_scale")
        db = sa.make_url(url).database or ""
        Store.open(url, rig.directory).close()
        rig.replicas.clear()
        names = [f"r{i}" for i in range(args.replicas)]
        watched = launch(rig, names, url)
        snaps: list[tuple[float, dict[str, int], int]] = []

        def snapshot() -> None:
            with admin.connect() as conn:
                xact = conn.execute(
                    sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = :d"),
                    {"d": db},
                ).scalar_one()
            snaps.append((time.monotonic(), statements(admin, db), int(xact)))

        stop = threading.Event()
        sampler = threading.Thread(target=sample_processes, args=(watched, stop), daemon=True)
        sampler.start()
        span = args.minutes * 60
        full_at = [span * (k + 1) / (args.full_scrapes + 1) for k in range(args.full_scrapes)]
        try:
            scrape_loop(watched, args.minutes, args.scrape_every, "held", full_at, snapshot)
        finally:
            stop.set()
            rig.stop_all()
        report(
            f"{args.replicas} replicas on PostgreSQL state, {args.contracts:,} contracts on "
            f"{args.warehouse}, check_every 5m, lease_ttl {args.lease_ttl}, "
            f"{args.minutes:g} min, /metrics?scope=held every {args.scrape_every:g} s",
            watched,
            "held",
            args.baseline,
        )
        # the database: windows where no replica read anything are between rounds
        busy = [rw for w in watched for rw in windows(w, "held").rounds]

        def in_round(a: float, b: float) -> bool:
            return any(a < e and s < b for s, e in busy)

        idle = [0.0, 0, 0, 0]  # seconds, lease statements, other statements, commits
        total = [0.0, 0, 0, 0]
        idle_calls: dict[str, int] = {}  # statement -> calls between rounds
        for (a, sa_, xa), (b, sb, xb) in itertools.pairwise(snaps):
            lease, other = split(sa_, sb)
            row = (b - a, lease, other, xb - xa)
            total = [x + y for x, y in zip(total, row, strict=True)]
            if not in_round(a, b):
                idle = [x + y for x, y in zip(idle, row, strict=True)]
                for q, n in sb.items():
                    idle_calls[q] = idle_calls.get(q, 0) + max(0, n - sa_.get(q, 0))
        for label, (secs, lease, other, xact) in (("between rounds", idle), ("whole run", total)):
            if secs <= 0:
                continue
            n = args.replicas
            print(
                f"  state database, {label} ({secs:.0f} s): "
                f"{(lease + other) / secs:.1f} statements/s "
                f"({lease / secs:.1f} lease rounds, {other / secs:.1f} other; "
                f"{(lease + other) / secs / n:.1f} per replica), {xact / secs:.1f} commits/s"
            )
        top = sorted(idle_calls.items(), key=lambda kv: -kv[1])[:4]
        for q, calls in top:  # what the database runs between rounds, most called first
            text = " ".join(q.split())[:100]
            print(f"    {calls / max(idle[0], 1e-9):.1f}/s between rounds: {text}")
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=int, default=100_000)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=7.0, help="per phase (a round is 5 min)")
    ap.add_argument("--scrape-every", type=float, default=15.0)
    ap.add_argument("--full-scrapes", type=int, default=3, help="full /metrics per replica")
    ap.add_argument("--phases", default="single,replicas")
    ap.add_argument("--lease-ttl", default="15s", help="state.lease_ttl of the replicas")
    ap.add_argument("--keep", action="store_true", help="keep the project and the logs")
    ap.add_argument("--warehouse", choices=("duckdb", "postgres"), default="duckdb")
    args = ap.parse_args()
    phases = args.phases.split(",")
    with (
        tempfile.TemporaryDirectory(prefix="fresh-scale-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        rig = build(Path(tmp), args, stack)
        if args.keep:
            rig.directory = Path(tempfile.mkdtemp(prefix="fresh-scale-logs-"))
            shutil.copytree(tmp, rig.directory, dirs_exist_ok=True)
            print(f"project, warehouse and replica logs in {rig.directory}")
        try:
            if "single" in phases:
                single(rig, args)
            if "replicas" in phases:
                replicas(rig, args)
        finally:
            rig.stop_all()


if __name__ == "__main__":
    main()
