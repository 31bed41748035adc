"""bench/scale.py's generated warehouses, small: the PostgreSQL one (DO blocks, its own
server) is what `fresh check` reads, every table fresh; DuckDB alone reports its RSS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import scale_warehouse
from tests import servers
from tests.integration.replicas_rig import Rig

ROOT = Path(__file__).resolve().parents[2]


def _check(directory: Path) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "check", "--format", "json"],
        cwd=directory,
        env={
            **os.environ,
            "FRESH_STATE_URL": "sqlite:///.fresh/state.db",
            "FRESH_REPLICA": "solo",
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out: dict[str, object] = json.loads(run.stdout)
    return out


def test_postgres_warehouse_is_read_fresh_table_by_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    why = servers.postgres_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    monkeypatch.setattr(scale_warehouse, "PG_BATCH", 100)  # three DO blocks, the last short
    before = datetime.now(UTC)
    with scale_warehouse.postgres_warehouse(250) as url:
        assert url.startswith("postgresql+psycopg://")
        rig = Rig(tmp_path, "", "json://127.0.0.1:9/none", 250, "5m")
        rig.warehouse_url = url
        rig.write_config()
        assert f"url: {url}" in (tmp_path / "fresh.yml").read_text()
        out = _check(tmp_path)
    assert out["summary"] == {"fresh": 250, "warn": 0, "stale": 0, "error": 0}
    results = out["results"]
    assert isinstance(results, list)
    assert {r["contract"] for r in results} == {f"t.table_{i}" for i in range(250)}
    for r in results:  # the one row of each table: the time the warehouse was built
        built = datetime.fromisoformat(r["last_update"].replace("Z", "+00:00"))
        assert before - timedelta(seconds=5) <= built <= datetime.now(UTC)


def test_duckdb_alone_reads_every_table(tmp_path: Path) -> None:
    rig = Rig(tmp_path, "", "json://127.0.0.1:9/none", 40, "5m")  # two chunks of 32
    rig.write()
    line = scale_warehouse.duckdb_alone(tmp_path / "warehouse.duckdb", 40)
    m = re.search(r"open (\d+) MB, open \+ read all (\d+) MB \(peak (\d+) MB; chunks of 32;", line)
    assert m, line
    opened, read, peak = (int(g) for g in m.groups())
    assert 0 < opened <= read <= peak
    with pytest.raises(subprocess.CalledProcessError):  # a table missing is an error, not 0 MB
        scale_warehouse.duckdb_alone(tmp_path / "warehouse.duckdb", 41)
