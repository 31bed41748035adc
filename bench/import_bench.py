"""Importing a big dbt manifest: time and peak memory of `fresh validate` with `imports:`.

Real manifests of large projects reach hundreds of MB, mostly nodes, macros and docs that
fresh does not read. This script generates one of about `--mb` MB (default 200): `--sources`
source tables with freshness (default 5,000) and padding models with compiled SQL until the
size is reached, then times `fresh validate` on a project importing it, in a fresh process
each run (wall time and peak RSS from wait4), median of `--runs`.

    python bench/import_bench.py [--mb 200] [--sources 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FRESH = Path(sys.executable).with_name("fresh")


def write_manifest(path: Path, mb: int, sources: int) -> int:
    """A manifest.json of about `mb` MB; returns its size in bytes."""
    src = {}
    for i in range(sources):
        uid = f"source.big.raw_{i % 50}.table_{i}"
        src[uid] = {
            "unique_id": uid,
            "package_name": "big",
            "source_name": f"raw_{i % 50}",
            "name": f"table_{i}",
            "database": "warehouse",
            "schema": f"raw_{i % 50}",
            "identifier": f"table_{i}",
            "loaded_at_field": "_loaded_at",
            "loaded_at_query": None,
            "freshness": {
                "warn_after": {"count": 1, "period": "hour"},
                "error_after": {"count": 6, "period": "hour"},
                "filter": None,
            },
            "meta": {"owner": f"team-{i % 20}"},
            "source_meta": {},
            "tags": ["big"],
            "description": f"Table {i} landed by the loader.",
            "config": {"enabled": True},
        }
    sql = "select " + ", ".join(f"col_{k}" for k in range(200)) + " from upstream"
    with path.open("w") as fh:
        fh.write('{"metadata": {"dbt_version": "1.10.23"}, "sources": ')
        json.dump(src, fh)
        fh.write(', "nodes": {')
        target = mb * 1024 * 1024
        i = 0
        while fh.tell() < target:
            node = {
                "unique_id": f"model.big.m_{i}",
                "resource_type": "model",
                "raw_code": sql,
                "compiled_code": sql,
                "description": "padding " * 40,
                "columns": {f"col_{k}": {"name": f"col_{k}", "description": ""} for k in range(20)},
            }
            fh.write(("," if i else "") + json.dumps(f"model.big.m_{i}") + ": " + json.dumps(node))
            i += 1
        fh.write("}}")
    return path.stat().st_size


def run(cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one `fresh validate`."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(FRESH), "validate"], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    """Generate, time, print."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=int, default=200)
    p.add_argument("--sources", type=int, default=5000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="fresh-import-bench-") as tmp:
        base = Path(tmp)
        size = write_manifest(base / "manifest.json", args.mb, args.sources)
        owners = "".join(f"  team-{k}: {{notify: []}}\n" for k in range(20))
        (base / "fresh.yml").write_text(f"owners:\n{owners}imports:\n  - dbt: manifest.json\n")
        results = [run(base) for _ in range(args.runs)]
        if any(code != 0 for _, _, code in results):
            print("fresh validate failed", file=sys.stderr)
            return 1
        wall = statistics.median(r[0] for r in results)
        rss = statistics.median(r[1] for r in results)
        print(
            f"manifest {size / 1e6:.0f} MB, {args.sources} sources: fresh validate "
            f"{wall:.2f} s wall, {rss:.0f} MB peak RSS (median of {args.runs})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
