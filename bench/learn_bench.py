"""Learned expectations (SPEC 13): what learning costs, and how well it judges.

    .venv/bin/python bench/learn_bench.py                 # 1,000 contracts, everything
    .venv/bin/python bench/learn_bench.py --contracts 200 --only quality

1. **Backfill.** 1,000 DuckDB tables whose `_loaded_at` follow the patterns below over
   35 days; `learn: true` contracts on them. The first `fresh check` backfills every one
   (one read-only query per contract) into a SQLite state store; the time and the number
   of queries are printed, then the same check once the history is cached.
2. **Cost per check.** In-process, `fresh check`'s own path (`run_checks`) over the same
   tables with the same contracts as plain `warn_after` / `error_after` contracts against
   `learn` contracts whose history is cached (median of 5 interleaved runs, wall and CPU
   time, the ratio printed in the same run); then where the difference goes (the history
   read, the rule per contract), and checks 10-30 minutes later, which ask the source only
   for contracts whose reading is newer than the cache.
3. **Quality.** For each pattern, one normal week judged every 10 minutes (false alarms:
   stale moments and stale episodes) and a missed update (detection delay: from the latest
   usual arrival to stale), by the learned rule, a plain mean + 3 sigma of the gaps, and a
   fixed threshold as a person would set it.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.core.learn import learn_limits

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
START = MONDAY - 35 * D

Pattern = Callable[[datetime, datetime, random.Random], list[datetime]]


def every_15_minutes(start: datetime, end: datetime, rng: random.Random) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t + rng.uniform(0, 2) * M)
        t += 15 * M
    return out


def _days(start: datetime, end: datetime) -> Iterator[datetime]:
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        yield day
        day += D


def weekday_daily(start: datetime, end: datetime, rng: random.Random) -> list[datetime]:
    return [
        d + 6 * H + rng.uniform(0, 40) * M
        for d in _days(start, end)
        if d.weekday() < 5 and start <= d + 6 * H < end
    ]


def business_hours(start: datetime, end: datetime, rng: random.Random) -> list[datetime]:
    return [
        d + h * H + rng.uniform(0, 5) * M
        for d in _days(start, end)
        if d.weekday() < 5
        for h in range(9, 18)
        if start <= d + h * H < end
    ]


def with_incident(start: datetime, end: datetime, rng: random.Random) -> list[datetime]:
    """Every 15 minutes, with one five-hour hole three weeks back."""
    hole = (MONDAY - 19 * D + 10 * H, MONDAY - 19 * D + 15 * H)
    return [t for t in every_15_minutes(start, end, rng) if not hole[0] <= t < hole[1]]


PATTERNS: dict[str, tuple[Pattern, timedelta]] = {
    # name: (generator, a fixed error_after a person would pick)
    "every 15 min": (every_15_minutes, 1 * H),
    "weekday daily 06:00-06:40": (weekday_daily, 26 * H),
    "business hours hourly": (business_hours, 2 * H),
    "15 min + past 5h incident": (with_incident, 1 * H),
}
# The missed update of each pattern: (first moment without it, latest usual arrival).
MISSES = {
    "every 15 min": (MONDAY + 2 * D + 10 * H, MONDAY + 2 * D + 10 * H + 2 * M),
    "weekday daily 06:00-06:40": (MONDAY + 3 * D, MONDAY + 3 * D + 6 * H + 40 * M),
    "business hours hourly": (MONDAY + D + 11 * H, MONDAY + D + 11 * H + 5 * M),
    "15 min + past 5h incident": (MONDAY + 2 * D + 10 * H, MONDAY + 2 * D + 10 * H + 2 * M),
}


# --- Quality ---------------------------------------------------------------------------------


def _learned_stale(history: list[datetime], now: datetime) -> bool:
    seen = [h for h in history if h <= now]
    learned = learn_limits(seen, seen[-1] if seen else None, now)
    return learned.error_at is not None and now >= learned.error_at


def _sigma_stale(history: list[datetime], now: datetime) -> bool:
    seen = [h for h in history if now - 35 * D <= h <= now]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(seen)]
    if len(gaps) < 2:
        return False
    limit = statistics.fmean(gaps) + 3 * statistics.pstdev(gaps)
    return (now - seen[-1]).total_seconds() >= limit


def _fixed_stale(limit: timedelta) -> Callable[[list[datetime], datetime], bool]:
    def rule(history: list[datetime], now: datetime) -> bool:
        last = max(h for h in history if h <= now)
        return now - last >= limit

    return rule


def _episodes(flags: list[bool]) -> int:
    return sum(1 for i, f in enumerate(flags) if f and (i == 0 or not flags[i - 1]))


def quality(seed: int) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for name, (pattern, fixed) in PATTERNS.items():
        history = pattern(START, MONDAY + 7 * D, random.Random(seed))
        rules = {
            "learned": _learned_stale,
            "mean + 3 sigma of gaps": _sigma_stale,
            f"fixed {int(fixed.total_seconds() // 3600)}h": _fixed_stale(fixed),
        }
        gone, latest = MISSES[name]
        missed = [h for h in history if not gone <= h < gone + D]
        for rule_name, rule in rules.items():
            steps = [MONDAY + i * 10 * M for i in range(7 * 144)]
            flags = [rule(history, t) for t in steps]
            stale_hours = sum(flags) * 10 / 60
            t = latest
            while not rule([h for h in missed if h <= t], t) and t < latest + 3 * D:
                t += M
            delay = "none in 3 days" if t >= latest + 3 * D else _words(t - latest)
            rows.append(
                (name, rule_name, f"{_episodes(flags)}", f"{stale_hours:.1f} h", delay)
            )
    return rows


def _words(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


# --- Cost ------------------------------------------------------------------------------------


def build(root: Path, n: int, seed: int, now: datetime) -> None:
    import duckdb

    con = duckdb.connect(str(root / "wh.duckdb"))
    con.execute("BEGIN")
    names = list(PATTERNS)
    for i in range(n):
        pattern = PATTERNS[names[i % len(names)]][0]
        times = pattern(now - 35 * D, now, random.Random(seed + i))
        con.execute(
            f"CREATE TABLE t{i:05d} AS SELECT unnest(?::TIMESTAMP[]) AS _loaded_at",
            [[t.replace(tzinfo=None) for t in times]],
        )
    con.execute("COMMIT")
    con.close()
    (root / "fresh.yml").write_text(
        "warehouses: {main: {url: 'duckdb:///wh.duckdb'}}\nstate: {url: 'sqlite:///s.db'}\n"
    )
    (root / "checks").mkdir(exist_ok=True)
    for kind, extra in (("plain", "warn_after: 20h, error_after: 30h"), ("learn", "learn: true")):
        lines = [f"  - {{name: {kind}{i:05d}, table: t{i:05d}, {extra}}}" for i in range(n)]
        (root / f"{kind}.yml").write_text(
            textwrap.dedent("""\
            defaults: {owner: ops, column: _loaded_at}
            contracts:
            """)
            + "\n".join(lines)
            + "\n"
        )


def cost(root: Path, n: int, now: datetime, runs: int) -> None:
    from monitor.cli.commands import check
    from monitor.config.loader import load_project
    from monitor.sources.sql import backfill

    def project(kind: str):  # type: ignore[no-untyped-def]
        (root / "checks" / "all.yml").write_text((root / f"{kind}.yml").read_text())
        return load_project(root / "fresh.yml")

    learn = project("learn")
    queries = 0
    real = backfill.minutes_sql  # one statement per contract backfilled

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return real(*args, **kwargs)

    backfill.minutes_sql = counted
    t0 = time.perf_counter()
    check.run_checks(learn.contracts, learn.settings, now)
    first = time.perf_counter() - t0
    backfill.minutes_sql = real
    print(f"first check of {n} learn contracts (backfill): {first:.2f} s, {queries} queries")
    t0 = time.perf_counter()
    check.run_checks(learn.contracts, learn.settings, now)
    print(f"second check (history cached, nothing new to read): {time.perf_counter() - t0:.2f} s")

    plain = project("plain")
    # Wall time, and CPU time (every thread of the process): on a shared machine the CPU
    # time says more about the cost, the wall time about what a user waits.
    times: dict[str, list[tuple[float, float]]] = {"plain": [], "learn": []}
    for _ in range(runs):
        for kind, p in (("plain", plain), ("learn", learn)):
            t0, c0 = time.perf_counter(), time.process_time()
            check.run_checks(p.contracts, p.settings, now)
            times[kind].append((time.perf_counter() - t0, time.process_time() - c0))
    for i, what in ((0, "wall"), (1, "CPU")):
        a = statistics.median(t[i] for t in times["plain"])
        b = statistics.median(t[i] for t in times["learn"])
        print(f"run_checks at {now:%a %H:%M} UTC, median of {runs}, {what}: plain {a:.3f} s, "
              f"learn {b:.3f} s ({b / a:.2f}x)")

    # Where the difference goes: the history read (one packed row per contract) and the
    # pure rule, per contract, on the cached histories.
    from monitor.store import Store

    names = [c.name for c in learn.contracts]
    with Store.from_settings(learn.settings) as store:
        t0 = time.perf_counter()
        cached = store.add_and_read_learned({}, {}, {n: now - 35 * D for n in names}, now)
        read = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in learn.contracts:
        h = cached[c.name]
        learn_limits(h, datetime.fromtimestamp(h[-1], UTC) if h else None, now)
    each = (time.perf_counter() - t0) / n * 1000
    print(f"history read: {read * 1000:.0f} ms for {sum(len(v) for v in cached.values())} "
          f"cached updates; learn_limits alone: {each:.3f} ms per contract")

    # A check ten minutes later: the cache covers up to `now`, so each contract's backfill
    # reads only what came after (one query each, nothing new here), as CI would see it.
    queries = 0
    backfill.minutes_sql = counted
    later: dict[str, list[float]] = {"plain": [], "learn": []}
    for minutes in (10, 20, 30):
        for kind, p in (("plain", plain), ("learn", learn)):
            t0 = time.perf_counter()
            check.run_checks(p.contracts, p.settings, now + minutes * M)
            later[kind].append(time.perf_counter() - t0)
    backfill.minutes_sql = real
    a, b = statistics.median(later["plain"]), statistics.median(later["learn"])
    print(f"checks 10, 20, 30 min later (only a reading newer than the cache asks the source: "
          f"{queries} queries): plain {a:.3f} s, learn {b:.3f} s ({b / a:.2f}x, wall)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=["cost", "quality"], default=None)
    args = ap.parse_args()
    if args.only in (None, "quality"):
        print("| pattern | rule | stale episodes in a normal week | stale time | "
              "missed update → stale |")
        print("|---|---|---|---|---|")
        for row in quality(args.seed):
            print("| " + " | ".join(row) + " |")
    if args.only in (None, "cost"):
        now = datetime.now(UTC).replace(microsecond=0)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            t0 = time.perf_counter()
            build(root, args.contracts, args.seed, now)
            print(f"built {args.contracts} tables in {time.perf_counter() - t0:.1f} s")
            cost(root, args.contracts, now, args.runs)


if __name__ == "__main__":
    main()
