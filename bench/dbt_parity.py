"""Regenerate the dbt parity fixture: run the real `dbt source freshness` on a DuckDB project.

tests/fixtures/dbt_parity/ holds a dbt project whose sources carry freshness in every form
SPEC 11 lists, and its warehouse as SQL (data.sql, fixed timestamps). This script builds the
warehouse, runs `dbt parse` and `dbt source freshness` with dbt-core 1.10 + dbt-duckdb
(installed once into bench/.venvs/dbt, never a test dependency), and commits their output
beside the project: expected/manifest.json and expected/sources.json. dbt's "now" is pinned
by macros/fixed_now.sql, so a rerun gives the same verdicts. The tests
(tests/integration/test_dbt_parity.py) need no dbt: they compare fresh's import of the
manifest and of the folder against sources.json with `--at` its snapshotted_at.

    python bench/dbt_parity.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent / "tests" / "fixtures" / "dbt_parity"
VENV = HERE / ".venvs" / "dbt"
BASELINE = ["dbt-core>=1.10,<1.11", "dbt-duckdb"]


def ensure_venv() -> Path:
    """bench/.venvs/dbt/bin, installed on first use (the same venv check_bench.py uses)."""
    marker = VENV / ".installed"
    wanted = " ".join(BASELINE)
    if not (marker.exists() and marker.read_text() == wanted):
        print(f"installing {wanted} into {VENV} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, *BASELINE], check=True)
        marker.write_text(wanted)
    return VENV / "bin"


def main() -> int:
    """Build, run dbt, copy the artifacts into expected/."""
    bin_dir = ensure_venv()
    with tempfile.TemporaryDirectory(prefix="fresh-dbt-parity-") as tmp:
        work = Path(tmp) / "parity"
        shutil.copytree(PROJECT, work, ignore=shutil.ignore_patterns("expected", "*.duckdb"))
        # The warehouse is written by dbt-duckdb's own duckdb, so dbt can open it.
        build = (
            "import duckdb, sys; con = duckdb.connect('parity.duckdb'); "
            "con.execute(open('data.sql').read()); con.close()"
        )
        subprocess.run([str(bin_dir / "python"), "-c", build], cwd=work, check=True)
        env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(work),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        env.pop("PARITY_SHOP_SCHEMA", None)  # the env_var default is part of the fixture
        dbt = str(bin_dir / "dbt")
        subprocess.run([dbt, "parse"], cwd=work, env=env, check=True)
        # Exit 1 is expected: some sources are late or broken on purpose.
        run = subprocess.run([dbt, "source", "freshness"], cwd=work, env=env)
        if run.returncode not in (0, 1):
            return run.returncode
        out = PROJECT / "expected"
        out.mkdir(exist_ok=True)
        for name in ("manifest.json", "sources.json"):
            text = (work / "target" / name).read_text()
            # Absolute paths of the temporary copy: keep the files the same on every rerun.
            text = text.replace(str(work), "<project>")
            (out / name).write_text(text)
        verdicts = {
            r["unique_id"]: r["status"]
            for r in json.loads((out / "sources.json").read_text())["results"]
        }
        for uid, status in sorted(verdicts.items()):
            print(f"{status:>14}  {uid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
