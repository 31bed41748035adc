"""`fresh check` before and after a change: whole processes, alternating, on the same project.

    .venv/bin/python bench/check_ab.py --before 7a94313          # that commit vs the checkout
    .venv/bin/python bench/check_ab.py --before HEAD~1 --runs 20 --tables 10000

The `monitor` package of `--before` (from `git archive`) and of the checkout are each byte-
compiled and run by the same Python (bench/.venvs/fresh, where check_bench.py installs
fresh with its pinned dependencies) through the console entry each tree has, alternating
before, after, before, … after one warm-up each, on check_bench.py's generated project of
`--tables` DuckDB tables. Prints the median and least wall and CPU time of each and the
difference, so a change is measured against its own baseline in the same run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.check_bench import VENVS, fresh_binary, setup_fresh  # noqa: E402


def tree_of(ref: str, into: Path) -> Path:
    """`monitor/` of git `ref`, extracted under `into` and byte-compiled."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "monitor"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    compileall.compile_dir(str(into / "monitor"), quiet=1)
    return into


def command(python: Path, tree: Path) -> list[str]:
    """Run `fresh check` from `tree` the way its console script does."""
    entry = "monitor.cli.entry" if (tree / "monitor/cli/entry.py").exists() else "monitor.cli.app"
    code = f"import sys; sys.argv = ['fresh', 'check']; from {entry} import console; console()"
    return [str(python), "-c", code]


def once(cmd: list[str], cwd: Path, tree: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one whole process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} (PYTHONPATH={tree}) failed")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="git commit to compare the checkout with")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--tables", type=int, default=1000)
    p.add_argument("--rows", type=int, default=1000)
    args = p.parse_args()
    fresh_binary(None)  # installs (or refreshes) bench/.venvs/fresh and its dependencies
    python = VENVS / "fresh" / "bin" / "python"
    project = HERE / "work" / f"fresh-{args.tables}"
    setup_fresh(project, args.tables, args.rows)
    compileall.compile_dir(str(ROOT / "monitor"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="fresh-ab-") as tmp:
        trees = {"before": tree_of(args.before, Path(tmp)), "after": ROOT}
        samples: dict[str, list[tuple[float, float]]] = {k: [] for k in trees}
        for round_ in range(args.runs + 1):
            for name, tree in trees.items():
                got = once(command(python, tree), project, tree)
                if round_:
                    samples[name].append(got)
    load = os.getloadavg()[0]
    print(f"{args.tables} contracts, {args.runs} alternating runs each, load average {load:.1f}")
    med = {}
    for name, s in samples.items():
        walls, cpus = [w for w, _ in s], [c for _, c in s]
        med[name] = statistics.median(walls), statistics.median(cpus)
        print(
            f"  {name:6s} wall median {med[name][0]:.3f} s (least {min(walls):.3f}), "
            f"CPU median {med[name][1]:.3f} s (least {min(cpus):.3f})"
        )
    dw = med["after"][0] - med["before"][0]
    dc = med["after"][1] - med["before"][1]
    print(f"  after - before: wall {dw * 1000:+.0f} ms, CPU {dc * 1000:+.0f} ms (medians)")


if __name__ == "__main__":
    main()
