"""Config loading: `load_project` on 1,000 plain table+column contracts.

Baseline, measured in the same run: `yaml.compose` with PyYAML's C loader on the same
text (parsing with positions and nothing else). Also: `yaml.load` (no positions), the
import cost of `monitor.config.loader` in a fresh process, and which heavy modules it pulled in.

    .venv/bin/python bench/config_bench.py [--contracts 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from monitor.config.loader import load_project


def write_checks(root: Path, n: int) -> str:
    lines = ["defaults:\n  warehouse: main\n  owner: ops\n  tags: [bench]\ncontracts:\n"]
    for i in range(n):
        lines.append(
            f"  - name: bench.t{i}\n    description: Table {i}\n    table: bench.t{i}\n"
            f"    column: loaded_at\n    warn_after: 20m\n    error_after: 1h\n"
            f"    tags: [t{i % 7}]\n    metadata: {{domain: d{i % 5}}}\n"
        )
    text = "".join(lines)
    (root / "checks").mkdir()
    (root / "checks" / "bench.yml").write_text(text)
    return text


def timed(fn: Callable[[], object], repeat: int = 9) -> float:
    """Least CPU time of `repeat` runs (after one warm-up): steadier than wall time on a
    busy machine, and this work is single-threaded with no I/O wait worth counting."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        runs.append(time.process_time() - t0)
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=1000)
    n = parser.parse_args().contracts
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        text = write_checks(root, n)
        compose = timed(lambda: yaml.compose(text, Loader=yaml.CSafeLoader))
        plain = timed(lambda: yaml.load(text, Loader=yaml.CSafeLoader))
        full = timed(lambda: load_project(cwd=root, env={}))
        code = (
            "import sys, time; t = time.perf_counter(); import monitor.config.loader as c; "
            "t1 = time.perf_counter(); c.load_project(); t2 = time.perf_counter(); "
            "print(round(t1 - t, 4), round(t2 - t1, 4), "
            "[m for m in ('sqlalchemy', 'sqlglot', 'duckdb', 'cronsim') if m in sys.modules])"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
        )
    print(f"{n} contracts, {len(text) / 1e6:.2f} MB of YAML")
    print("CPU time, least of 9 runs")
    print(f"baseline yaml.compose (C loader):  {compose * 1000:7.1f} ms")
    print(
        f"yaml.load (no positions):          {plain * 1000:7.1f} ms  "
        f"({plain / compose:.2f}x baseline)"
    )
    print(
        f"load_project (validated contracts): {full * 1000:6.1f} ms  "
        f"({full / compose:.2f}x baseline)"
    )
    print(
        f"fresh process: import monitor.config.loader, first load_project (s), heavy modules: "
        f"{proc.stdout.strip()}"
    )


if __name__ == "__main__":
    main()
