"""`fresh serve` with 10,000 contracts on one DuckDB file, `check_every: 1m`.

Measures, on a real `fresh serve` subprocess:
- RSS after the run (and its peak), against `fresh check` on the same project (the
  baseline, measured in the same run);
- CPU share of one core between rounds (seconds outside rounds and scrapes), the whole-run
  average, and how long one round of reads takes (against `fresh check`'s wall time);
- `/metrics` scrape time (median and worst);
- deadline-to-flip latency: a few contracts whose data goes stale at known moments,
  some landing in the middle of a round; the service logs the flip in JSON.
Targets: RSS ≤ 250 MB, < 5 % of a core between rounds, scrape ≤ 1 s, flip ≤ 2 s.

Run: .venv/bin/python bench/serve_bench.py [--contracts 10000] [--minutes 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLIP_AFTER = (61.0, 75.0, 90.0, 121.0, 150.0)  # seconds after start: data turns stale then
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(folder: Path, n: int, start: datetime) -> dict[str, datetime]:
    """A DuckDB file with n one-row tables and n + len(FLIP_AFTER) contracts."""
    import duckdb

    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    naive = start.replace(tzinfo=None)
    con.execute("BEGIN")
    for i in range(n):
        con.execute(f"CREATE TABLE t{i} (updated_at TIMESTAMP)")
        con.execute(f"INSERT INTO t{i} VALUES (?)", [naive - timedelta(minutes=i % 50)])
    for k in range(len(FLIP_AFTER)):
        con.execute(f"CREATE TABLE flip{k} (updated_at TIMESTAMP)")
        con.execute(f"INSERT INTO flip{k} VALUES (?)", [naive])
    con.execute("COMMIT")
    con.close()
    (folder / "fresh.yml").write_text(
        "warehouses:\n  main:\n    url: duckdb:///warehouse.duckdb\n"
        "state:\n  url: sqlite:///.fresh/state.db\n"
    )
    lines = ["defaults:\n  owner: bench\n  warehouse: main\n  check_every: 1m\ncontracts:\n"]
    for i in range(n):
        lines.append(
            f"  - {{name: c{i}, table: t{i}, column: updated_at, warn_after: 1h, "
            "error_after: 2h}\n"
        )
    deadlines = {}
    for k, after in enumerate(FLIP_AFTER):
        lines.append(
            f"  - {{name: flip{k}, table: flip{k}, column: updated_at, "
            f"error_after: {int(after)}s}}\n"
        )
        deadlines[f"flip{k}"] = start + timedelta(seconds=after)
    (folder / "checks").mkdir()
    (folder / "checks" / "bench.yml").write_text("".join(lines))
    return deadlines


def fresh(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor.cli", *args]


def baseline(folder: Path) -> tuple[float, float]:
    """`fresh check` on the same project: wall seconds and peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(
        fresh("check", "--format", "json", "--output", str(folder / "check.json")),
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hwm_mb(pid: int) -> float:
    """The process's peak RSS so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def scrape(url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url + "/metrics", timeout=30) as resp:
        size = len(resp.read())
    return time.perf_counter() - t0, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=int, default=10_000)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--scrape-every", type=float, default=15.0)
    args = ap.parse_args()
    if args.minutes * 60 < max(FLIP_AFTER) + 10:
        ap.error(f"--minutes must cover the last flip ({max(FLIP_AFTER) + 10:.0f} s)")

    folder = Path(tempfile.mkdtemp(prefix="fresh-serve-bench-"))
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    t_build = time.perf_counter()
    start = datetime.now(UTC) + timedelta(seconds=10)
    deadlines = build(folder, args.contracts, start)
    print(f"built {args.contracts:,} tables + contracts in {time.perf_counter() - t_build:.1f} s")
    check_wall, check_rss = baseline(folder)
    print(f"baseline `fresh check`: {check_wall:.2f} s wall, {check_rss:.0f} MB peak RSS")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            fresh("serve", "--listen", f"127.0.0.1:{port}", "--log-format", "json"),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(f"fresh serve exited:\n{log_path.read_text()}")
                time.sleep(0.1)
        t_start = time.monotonic()
        end = t_start + args.minutes * 60
        samples: list[tuple[float, float, bool]] = []  # (t, cpu share, scraped)
        scrapes: list[tuple[float, int]] = []
        rss: list[float] = []
        last_cpu, last_t = cpu_seconds(proc.pid), time.monotonic()
        next_scrape = t_start + args.scrape_every
        while time.monotonic() < end:
            time.sleep(1.0)
            scraped = False
            if time.monotonic() >= next_scrape:
                scrapes.append(scrape(url))
                next_scrape += args.scrape_every
                scraped = True
            now_cpu, now_t = cpu_seconds(proc.pid), time.monotonic()
            samples.append((now_t - t_start, (now_cpu - last_cpu) / (now_t - last_t), scraped))
            last_cpu, last_t = now_cpu, now_t
            rss.append(rss_mb(proc.pid))
        final_rss = rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()

    # rounds: runs of busy seconds (> 20 % of a core), widened by one second each side
    busy = [i for i, (_, share, _) in enumerate(samples) if share > 0.20]
    in_round = set()
    for i in busy:
        in_round.update((i - 1, i, i + 1))
    runs: list[list[int]] = []
    for i in sorted(busy):
        if runs and i - runs[-1][-1] <= 2:
            runs[-1].append(i)
        else:
            runs.append([i])
    idle = [s for i, (_, s, sc) in enumerate(samples) if i not in in_round and not sc]
    total_share = sum(s for _, s, _ in samples) / max(1, len(samples))

    flips = {}
    for line in log_path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "status_changed" and event.get("status") == "stale":
            name = event.get("contract")
            if name in deadlines and name not in flips:
                at = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                flips[name] = (at - deadlines[name]).total_seconds()

    scrape_times = [t for t, _ in scrapes]
    round_lengths = [len(r) for r in runs[1:]] or [len(r) for r in runs]
    print(
        f"\nfresh serve, {args.contracts:,} contracts on one DuckDB file, check_every 1m, "
        f"{args.minutes:g} min, exit code {code}"
    )
    print(
        f"  RSS at the end        {final_rss:7.0f} MB   peak {max(rss):.0f} MB   "
        f"x{final_rss / check_rss:.2f} vs fresh check's peak   (target ≤ 250 MB)"
    )
    print(
        f"  CPU between rounds    {100 * statistics.mean(idle or [0]):7.2f} % of a core   "
        f"(median {100 * statistics.median(idle or [0]):.2f} %, {len(idle)} s sampled; "
        "target < 5 %)"
    )
    print(f"  CPU over the run      {100 * total_share:7.2f} % of a core")
    print(
        f"  one round (busy s)    {statistics.median(round_lengths) if runs else 0:7.0f} s   "
        f"x{(statistics.median(round_lengths) if runs else 0) / check_wall:.2f} "
        "vs fresh check wall"
    )
    if scrape_times:
        print(
            f"  /metrics scrape       {1000 * statistics.median(scrape_times):7.0f} ms median, "
            f"{1000 * max(scrape_times):.0f} ms worst, {scrapes[-1][1] / 1e6:.1f} MB "
            "(target ≤ 1 s)"
        )
    for name, late in sorted(flips.items(), key=lambda kv: deadlines[kv[0]]):
        print(
            f"  flip {name:<8}        {late:+7.2f} s after its deadline "
            f"(t+{(deadlines[name] - start).total_seconds() + 10:.0f} s; target ≤ 2 s)"
        )
    missing = sorted(set(deadlines) - set(flips))
    if missing:
        print(f"  NEVER FLIPPED: {missing}")
    print(f"  (files kept in {folder})")


if __name__ == "__main__":
    main()
