"""Whole-process `fresh check` against `dbt source freshness` and a Soda Core scan.

    .venv/bin/python bench/check_bench.py            # everything, 5 timed runs each
    .venv/bin/python bench/check_bench.py --only fresh,help --runs 3

Each tool reads its own DuckDB file holding the same N tables x ROWS rows with a
timestamp column (Soda pins an old duckdb that cannot read newer files, so every tool's
file is written by its own duckdb). dbt and Soda are installed in virtual environments
under bench/.venvs/ (created on first use). Runs are interleaved (fresh, dbt, soda,
fresh, ...) after one warm-up each, so a drift in machine speed hits every tool alike;
the figures are medians and ratios against fresh measured in the same run.

Soda's CLI spends seconds retrying telemetry when offline, so its scan runs in-process
through `soda.scan.Scan` and the process ends with `os._exit(0)` right after: the time
is Python start + import + scan, which is kinder to Soda than its CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
BASELINES = {
    "dbt": ["dbt-core>=1.10,<1.11", "dbt-duckdb"],
    "soda": ["soda-core-duckdb"],
}
TARGETS = {"dbt": 45.0, "soda": 5.5}  # fresh must be this many times faster (issue 17)
FRESH_TARGET_S, BIG_TARGET_S, HELP_TARGET_S = 0.25, 5.0, 0.3
BIG_RATIO = 8.0  # 10,000 contracts take at most this many times the time of 1,000

# Runs inside each tool's own Python: writes N tables with the newest rows spread over
# fresh, warn and stale ages so every verdict kind is exercised.
GENERATE = """
import sys, duckdb
path, schema, anchor = sys.argv[1], sys.argv[2], sys.argv[5]
n, rows = int(sys.argv[3]), int(sys.argv[4])
con = duckdb.connect(path)
con.execute("set enable_progress_bar = false")
con.execute(f"create schema if not exists {schema}")
con.execute("begin")
for i in range(n):
    lag = (i % 4) * 25 * 60
    con.execute(
        f"create or replace table {schema}.t{i:05d} as select range as id, "
        f"timestamp '{anchor}' - to_seconds({lag} + range * 7) as _loaded_at, "
        f"'row ' || range as payload from range({rows})"
    )
con.execute("commit")
con.close()
"""

SODA_SCAN = """
import os, sys, time
t0 = time.perf_counter()
from soda.scan import Scan
t1 = time.perf_counter()
scan = Scan()
scan.set_verbose(False)
scan.set_data_source_name("bench")
scan.add_configuration_yaml_file("configuration.yml")
scan.add_sodacl_yaml_file("checks.yml")
scan.execute()
t2 = time.perf_counter()
outcomes = {}
for check in scan._checks:
    outcome = str(check.outcome).rsplit(".", 1)[-1].lower()
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
with open("scan.json", "w") as f:
    f.write('{"checks": %d, "outcomes": "%s", "import_s": %.3f, "scan_s": %.3f}' % (
        len(scan._checks), outcomes, t1 - t0, t2 - t1))
sys.stdout.flush()
os._exit(0)  # skip the telemetry retries that follow a scan offline
"""


@dataclass
class Sample:
    """Whole-process figures of one tool over several runs."""

    walls: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    # pages read back from disk: this machine pages out memory idle for a minute (DAMON),
    # so a tool whose files went cold between its runs pays for it in wall time
    major_faults: list[int] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def run_once(
    cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, float, int, int]:
    """(wall s, CPU s, peak RSS MB, exit code, major page faults) of one whole process,
    output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, proc.returncode, usage.ru_majflt


def ensure_venv(name: str) -> Path:
    """The Python of bench/.venvs/NAME, installed on first use."""
    venv = VENVS / name
    marker = venv / ".installed"
    wanted = " ".join(BASELINES[name])
    if marker.exists() and marker.read_text() == wanted:
        return venv / "bin" / "python"
    print(f"installing {wanted} into {venv} (once)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *BASELINES[name]], check=True)
    marker.write_text(wanted)
    return venv / "bin" / "python"


def generate(python: Path, folder: Path, schema: str, n: int, rows: int) -> Path:
    """A DuckDB file of `n` tables written by `python`'s duckdb (kept between runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "warehouse.duckdb"
    stamp = folder / "warehouse.json"
    want = {"n": n, "rows": rows, "schema": schema, "python": str(python)}
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()) == want:
        return path
    path.unlink(missing_ok=True)
    anchor = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    started = time.perf_counter()
    subprocess.run(
        [str(python), "-c", GENERATE, str(path), schema, str(n), str(rows), anchor], check=True
    )
    stamp.write_text(json.dumps(want))
    print(f"  wrote {n} tables x {rows} rows to {path} in {time.perf_counter() - started:.1f} s")
    return path


def table_names(n: int) -> list[str]:
    return [f"t{i:05d}" for i in range(n)]


def setup_fresh(folder: Path, n: int, rows: int) -> None:
    generate(Path(sys.executable), folder, "raw", n, rows)
    (folder / "fresh.yml").write_text(
        "warehouses:\n  main:\n    url: duckdb:///warehouse.duckdb\n"
        "owners:\n  bench:\n    notify: []\n"
    )
    lines = [
        "defaults:",
        "  warehouse: main",
        "  owner: bench",
        "  column: _loaded_at",
        "  warn_after: 20m",
        "  error_after: 1h",
        "contracts:",
    ]
    for t in table_names(n):
        lines += [f"  - name: raw.{t}", f"    table: raw.{t}"]
    (folder / "checks").mkdir(exist_ok=True)
    (folder / "checks" / "bench.yml").write_text("\n".join(lines) + "\n")


def setup_dbt(folder: Path, n: int, rows: int, threads: int) -> None:
    generate(ensure_venv("dbt"), folder, "raw", n, rows)
    (folder / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: bench\nmodel-paths: [models]\n"
    )
    (folder / "profiles.yml").write_text(
        f"bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {folder / 'warehouse.duckdb'}\n      threads: {threads}\n"
    )
    lines = [
        "version: 2",
        "sources:",
        "  - name: raw",
        "    schema: raw",
        "    loaded_at_field: _loaded_at",
        "    freshness:",
        "      warn_after: {count: 20, period: minute}",
        "      error_after: {count: 1, period: hour}",
        "    tables:",
    ]
    lines += [f"      - name: {t}" for t in table_names(n)]
    (folder / "models").mkdir(exist_ok=True)
    (folder / "models" / "sources.yml").write_text("\n".join(lines) + "\n")


def setup_soda(folder: Path, n: int, rows: int) -> None:
    generate(ensure_venv("soda"), folder, "main", n, rows)
    (folder / "configuration.yml").write_text(
        "data_source bench:\n  type: duckdb\n  path: warehouse.duckdb\n  read_only: true\n"
    )
    checks = [f"checks for {t}:\n  - freshness(_loaded_at) < 1h" for t in table_names(n)]
    (folder / "checks.yml").write_text("\n".join(checks) + "\n")
    (folder / "scan.py").write_text(textwrap.dedent(SODA_SCAN))


def fresh_binary(given: str | None) -> str:
    """`fresh` as users get it: `pip install .` of this checkout into bench/.venvs/fresh.

    Not the development .venv: its editable install adds an import finder that costs
    every start ~20 ms. The project is reinstalled on each run (dependencies only once,
    pinned by constraints.txt), so the figures are those of the code checked out.
    """
    if given:
        return given
    repo = HERE.parent
    venv = VENVS / "fresh"
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    if not (venv / ".installed").exists():
        print(f"installing fresh and its dependencies into {venv} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([*pip, "-c", str(repo / "constraints.txt"), str(repo)], check=True)
        (venv / ".installed").write_text("fresh")
    else:
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(repo)], check=True)
    shutil.rmtree(repo / "build", ignore_errors=True)  # setuptools' leftovers
    return str(venv / "bin" / "fresh")


def sanity(name: str, cmd: Sequence[str], cwd: Path, env: dict[str, str] | None) -> str:
    """Run once, check the tool really judged every table, and say what it found."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if name == "dbt":
        results = json.loads((cwd / "target" / "sources.json").read_text())["results"]
        counts: dict[str, int] = {}
        for r in results:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return f"{len(results)} sources {counts}"
    if name == "soda":
        return f"{json.loads((cwd / 'scan.json').read_text())}"
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return f"exit {proc.returncode}"


def time_together(
    commands: dict[str, tuple[list[str], Path, dict[str, str] | None]], runs: int
) -> dict[str, Sample]:
    """Interleaved runs: one warm-up each, then `runs` rounds of every command in turn."""
    samples = {name: Sample() for name in commands}
    for round_ in range(runs + 1):
        for name, (cmd, cwd, env) in commands.items():
            wall, cpu, rss, code, faults = run_once(cmd, cwd, env)
            if round_:
                s = samples[name]
                s.walls.append(wall)
                s.rss_mb.append(rss)
                s.cpus.append(cpu)
                s.major_faults.append(faults)
                s.codes.add(code)
        print(f"  round {round_ or 'warm-up'} done", flush=True)
    return samples


def report(samples: dict[str, Sample], base: str = "fresh") -> None:
    """Medians per tool, and each baseline's wall time over fresh's.

    The ratio is taken round by round (the runs of one round are seconds apart), then
    its median: that holds when the machine's speed drifts during the run.
    """
    print(
        f"\n{'tool':<8}{'median s':>10}{'min s':>9}{'max s':>9}{'CPU s':>8}{'peak MB':>9}"
        f"{'x fresh':>9}{'CPU x':>8}{'maj.flt':>9}  exit codes"
    )
    ratios: dict[str, float] = {}
    for name, s in samples.items():
        cpu_ratio = f"{'-':>8}"
        if base in samples:
            pairs = zip(s.walls, samples[base].walls, strict=True)
            ratios[name] = statistics.median(a / b for a, b in pairs)
            # CPU time moves less than wall time with other jobs' load on a shared machine.
            cpu = statistics.median(s.cpus) / statistics.median(samples[base].cpus)
            cpu_ratio = f"{cpu:>7.1f}x"
        shown = f"{ratios[name]:>8.1f}x" if name in ratios else f"{'-':>9}"
        print(
            f"{name:<8}{s.median:>10.3f}{min(s.walls):>9.3f}{max(s.walls):>9.3f}"
            f"{statistics.median(s.cpus):>8.2f}{statistics.median(s.rss_mb):>9.0f}"
            f"{shown}{cpu_ratio}{statistics.median(s.major_faults):>9.0f}  {sorted(s.codes)}"
        )
    if base in samples:
        median = samples[base].median
        met = "met" if median <= FRESH_TARGET_S else "NOT met"
        print(f"fresh check: median {median:.3f} s (target <= {FRESH_TARGET_S} s: {met})")
    for name, target in TARGETS.items():
        if name in ratios:
            verdict = "met" if ratios[name] >= target else "NOT met"
            print(
                f"fresh vs {name}: {ratios[name]:.1f}x faster (target >= {target:g}x: {verdict})"
            )


def import_profile(python: str, fresh_cwd: Path, top: int) -> None:
    """The slowest imports of one `fresh check` (python -X importtime), cumulative."""
    code = "import sys; from monitor.cli.app import main; sys.argv = ['fresh', 'check']; main()"
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        cwd=fresh_cwd,
        capture_output=True,
        text=True,
    )
    rows = []
    total = 0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth == 0:
            total += int(cumulative)
        if depth <= 1:  # what fresh imports, and what those import directly
            rows.append((int(cumulative), depth, name.strip()))
    rows.sort(reverse=True)
    print(f"\nimports of one `fresh check`: {total / 1000:.0f} ms in all; the slowest")
    print("(cumulative ms; indented: imported by the module above it in the tree):")
    for cumulative, depth, name in rows[:top]:
        print(f"  {cumulative / 1000:8.1f}  {'  ' * depth}{name}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", type=int, default=1000, help="tables and contracts (1000)")
    p.add_argument("--rows", type=int, default=1000, help="rows per table (1000)")
    p.add_argument("--big", type=int, default=10000, help="contracts for fresh alone (10000)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per tool after a warm-up")
    p.add_argument(
        "--only",
        default="fresh,dbt,soda,big,help",
        help="comma-separated parts: fresh, dbt, soda, big, help, imports",
    )
    p.add_argument("--dbt-threads", type=int, default=4)
    p.add_argument("--fresh", help="the fresh command (default: installed from this checkout)")
    p.add_argument("--work", type=Path, default=HERE / "work")
    args = p.parse_args()
    parts = set(args.only.split(","))
    fresh = fresh_binary(args.fresh)
    n, rows, work = args.tables, args.rows, args.work.resolve()
    print(
        f"{n} tables x {rows} rows; {args.runs} runs each; {os.cpu_count()} CPUs; "
        f"Python {sys.version.split()[0]}; fresh = {fresh}"
    )

    commands: dict[str, tuple[list[str], Path, dict[str, str] | None]] = {}
    fresh_median: float | None = None  # of 1,000 contracts, for the 10,000 ratio
    fresh_dir = work / f"fresh-{n}"
    if parts & {"fresh", "imports"}:
        setup_fresh(fresh_dir, n, rows)
    if "fresh" in parts:
        commands["fresh"] = ([fresh, "check"], fresh_dir, None)
    if "dbt" in parts:
        d = work / f"dbt-{n}"
        setup_dbt(d, n, rows, args.dbt_threads)
        env = {**os.environ, "DBT_PROFILES_DIR": str(d), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        dbt = str(ensure_venv("dbt").with_name("dbt"))
        commands["dbt"] = ([dbt, "source", "freshness", "--project-dir", str(d)], d, env)
    if "soda" in parts:
        d = work / f"soda-{n}"
        setup_soda(d, n, rows)
        commands["soda"] = ([str(ensure_venv("soda")), "scan.py"], d, None)

    if commands and parts & {"fresh", "dbt", "soda"}:
        for name, (cmd, cwd, env) in commands.items():
            print(f"  {name}: {sanity(name, cmd, cwd, env)}", flush=True)
        together = time_together(commands, args.runs)
        report(together)
        if "fresh" in together:
            fresh_median = together["fresh"].median

    if "big" in parts:
        big_dir = work / f"fresh-{args.big}"
        setup_fresh(big_dir, args.big, rows)
        found = sanity("fresh", [fresh, "check"], big_dir, None)
        print(f"\nfresh alone, {args.big} contracts: {found}")
        s = time_together({"fresh": ([fresh, "check"], big_dir, None)}, args.runs)["fresh"]
        print(
            f"fresh check, {args.big} contracts: median {s.median:.2f} s "
            f"(min {min(s.walls):.2f}, max {max(s.walls):.2f}), CPU "
            f"{statistics.median(s.cpus):.2f} s, peak "
            f"{statistics.median(s.rss_mb):.0f} MB; target <= {BIG_TARGET_S:.0f} s"
        )
        if fresh_median:
            ratio = s.median / fresh_median
            met = "met" if ratio <= BIG_RATIO else "NOT met"
            print(
                f"{args.big} contracts take {ratio:.1f}x the time of {n} "
                f"(target <= {BIG_RATIO:.0f}x: {met})"
            )

    if "help" in parts:
        s = time_together({"help": ([fresh, "--help"], work, None)}, max(args.runs, 10))["help"]
        print(
            f"\nfresh --help: median {s.median:.3f} s (min {min(s.walls):.3f}, "
            f"CPU {statistics.median(s.cpus):.3f} s); "
            f"target <= {HELP_TARGET_S} s"
        )

    if "imports" in parts:
        beside = Path(fresh).with_name("python")
        import_profile(str(beside) if beside.exists() else sys.executable, fresh_dir, 25)


if __name__ == "__main__":
    main()
