"""Memory of a loaded project (issue 17): what `load_project` keeps per contract.

Writes the project bench/scale.py serves (fresh.yml + checks/all.yml from the same
generator, tests/integration/replicas_rig.py; no warehouse: loading never connects), then,
each in a fresh process:

- `rss`: RSS before/after `load_project` (the loader already imported), the CPU time of the
  load, and RSS per contract;
- `types`: the objects reachable from the loaded contracts, by type (count, bytes by
  `sys.getsizeof`, each object counted once), and bytes per contract;
- `trace`: `tracemalloc` of the load, the blocks still alive once it returned, by line.

    .venv/bin/python bench/config_memory.py [--contracts 100000] [--modes rss,types,trace]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ENV = {"FRESH_STATE_URL": "sqlite:///.fresh/state.db", "FRESH_REPLICA": "bench"}


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child_rss(root: Path) -> dict[str, float]:
    from monitor.config.loader import load_project

    gc.collect()
    before = rss_kb()
    t0 = time.process_time()
    project = load_project(cwd=root, env=ENV)
    cpu = time.process_time() - t0
    gc.collect()
    after = rss_kb()
    n = len(project.contracts)
    return {
        "contracts": n,
        "rss_before_mb": before / 1024,
        "rss_after_mb": after / 1024,
        "bytes_per_contract_rss": (after - before) * 1024 / n,
        "load_cpu_s": cpu,
    }


def child_types(root: Path) -> dict[str, object]:
    from monitor.config.loader import load_project

    project = load_project(cwd=root, env=ENV)
    seen: set[int] = set()
    by_type: dict[str, list[int]] = {}
    stack: list[object] = list(project.contracts)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        row = by_type.setdefault(type(obj).__name__, [0, 0])
        row[0] += 1
        row[1] += sys.getsizeof(obj)
        if isinstance(obj, str | int | float | bool | type(None)):
            continue
        if hasattr(obj, "__dict__"):
            row[1] += sys.getsizeof(obj.__dict__)
            stack.extend(vars(obj).values())
        elif hasattr(type(obj), "__slots__"):
            stack.extend(getattr(obj, s) for s in type(obj).__slots__ if hasattr(obj, s))
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, tuple | list):
            stack.extend(obj)
        elif type(obj).__name__ == "mappingproxy":
            stack.extend(dict(obj).items())
    total = sum(b for _, b in by_type.values())
    n = len(project.contracts)
    return {
        "contracts": n,
        "bytes_per_contract": total / n,
        "types": sorted(((t, c, b) for t, (c, b) in by_type.items()), key=lambda r: -r[2])[:15],
    }


def child_trace(root: Path) -> dict[str, object]:
    import tracemalloc

    from monitor.config.loader import load_project

    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    project = load_project(cwd=root, env=ENV)
    gc.collect()
    after = tracemalloc.take_snapshot()
    diff = after.compare_to(before, "lineno")
    n = len(project.contracts)
    grown = sum(d.size_diff for d in diff if d.size_diff > 0)
    return {
        "contracts": n,
        "traced_bytes_per_contract": grown / n,
        "lines": [
            (str(d.traceback[0]).replace(str(Path.cwd()) + "/", ""), d.count_diff, d.size_diff)
            for d in diff[:20]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--modes", default="rss,types,trace")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, root = args.child
        fn = {"rss": child_rss, "types": child_types, "trace": child_trace}[mode]
        print(json.dumps(fn(Path(root))))
        return
    from tests.integration.replicas_rig import Rig

    with tempfile.TemporaryDirectory() as tmp:
        Rig(Path(tmp), "", "json://127.0.0.1:9/none", args.contracts, "5m", "120s").write_config()
        for mode in args.modes.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, tmp],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            got = json.loads(out)
            print(f"== {mode}")
            for key, value in got.items():
                if isinstance(value, list):
                    for row in value:
                        print("   ", *row)
                else:
                    print(
                        f"  {key}: {value:,.2f}"
                        if isinstance(value, float)
                        else f"  {key}: {value}"
                    )


if __name__ == "__main__":
    main()
