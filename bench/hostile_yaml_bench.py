"""Hostile and huge YAML (SPEC 16): what `load_project` costs on each, in a fresh process.

- 100,000 contracts sharing `<<: *defaults` (an honest big file): must load;
- a "billion laughs" (9 levels x 9 aliases in `metadata:`), a 1 MB string aliased 2,000
  times, a list of empty strings aliased 9^9 times, nesting 5,000 levels deep: each must be
  refused, in well under a second, with peak memory near the honest baseline.

Each case runs in its own process so its peak RSS is its own.

    .venv/bin/python bench/hostile_yaml_bench.py [--contracts 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from monitor.config.loader import load_project
from monitor.core.errors import ConfigError
t0 = time.perf_counter()
try:
    project = load_project(cwd=Path(sys.argv[1]), env={})
    result = f"loaded {len(project.contracts):,} contracts"
except ConfigError as exc:
    result = str(exc.problems[0])[:110]
elapsed = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "rss_mb": rss, "result": result}))
"""


def honest(n: int) -> str:
    head = (
        "defaults: &defaults\n  owner: ops\n  warn_after: 20m\n  error_after: 1h\n"
        "  column: loaded_at\n  tags: [bench]\n  metadata: {domain: sales, tier: gold}\n"
        "contracts:\n"
    )
    body = "".join(
        f"  - <<: *defaults\n    name: bench.t{i}\n    table: bench.t{i}\n" for i in range(n)
    )
    return head + body


def laughs(leaf: str = "[lol]") -> str:
    lines = [f"    a0: &a0 {leaf}"]
    for i in range(1, 10):
        lines.append(f"    a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return (
        "contracts:\n  - name: bomb\n    owner: ops\n    table: t\n    column: c\n"
        "    error_after: 1h\n    metadata:\n" + "\n".join(lines) + "\n"
    )


def big_string() -> str:
    return (
        "contracts:\n  - name: bomb\n    owner: ops\n    table: t\n    column: c\n"
        "    error_after: 1h\n    metadata:\n      s: &s " + "x" * 990_000 + "\n"
        "      l: [" + ", ".join(["*s"] * 2000) + "]\n"
    )


def deep() -> str:
    return "contracts: " + "[" * 5000 + "]" * 5000 + "\n"


def run(text: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "checks").mkdir()
        (Path(tmp) / "checks" / "c.yml").write_text(text)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, tmp], capture_output=True, text=True, check=True
        )
    return dict(json.loads(out.stdout), mb=len(text) / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=100_000)
    n = parser.parse_args().contracts
    cases = {
        f"{n:,} contracts sharing <<: *defaults": honest(n),
        "empty project (baseline RSS)": "contracts: []\n",
        "billion laughs (9 x 9 aliases)": laughs(),
        "9^9 aliases of empty strings": laughs("['', '', '', '', '', '', '', '', '']"),
        "1 MB string aliased 2,000 times": big_string(),
        "nesting 5,000 levels deep": deep(),
    }
    print(f"{'case':40} {'YAML MB':>8} {'load s':>8} {'peak RSS MB':>12}  result")
    for name, text in cases.items():
        r = run(text)
        print(f"{name:40} {r['mb']:8.2f} {r['seconds']:8.3f} {r['rss_mb']:12.0f}  {r['result']}")


if __name__ == "__main__":
    main()
