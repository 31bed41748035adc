"""`learn:` through `fresh serve` (SPEC 13): the history is backfilled once into the state
store, judged with, and survives a restart even when the warehouse no longer has it."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from tests.integration.serving import sample, serving, wait_for, write_project

FRESH_YML = "warehouses: {main: {url: 'duckdb:///w.duckdb'}}\nstate: {url: 'sqlite:///s.db'}\n"
CHECKS = """\
contracts:
  - {name: often, owner: ops, table: often, column: _loaded_at, learn: true}
"""


def write_rows(path: Path, times: list[datetime]) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE OR REPLACE TABLE often (_loaded_at TIMESTAMPTZ)")
        con.executemany("INSERT INTO often VALUES (?)", [(t,) for t in times])
    finally:
        con.close()


def judged(served: object, name: str) -> dict[str, object] | None:
    status, body = served.get_json(f"/api/v1/contracts/{name}")  # type: ignore[attr-defined]
    return body if status == 200 and body.get("checked_at") else None  # type: ignore[no-any-return]


def test_serve_learns_from_a_cached_history_that_survives_a_restart(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    rng = random.Random(5)
    # Every 15 minutes for five weeks, then nothing for the last two hours: stale.
    start, end = now - timedelta(days=35), now - timedelta(hours=2)
    times, t = [], start
    while t < end:
        times.append(t + timedelta(seconds=rng.uniform(0, 60)))
        t += timedelta(minutes=15)
    write_rows(tmp_path / "w.duckdb", times)
    write_project(tmp_path, FRESH_YML, {"a.yml": CHECKS})

    with serving(tmp_path) as served:
        body = wait_for(lambda: judged(served, "often"), timeout=60)
    assert body["status"] == "stale", body
    assert body["learned"] is True
    assert "in the last 4 weeks" in str(body["detail"]), body["detail"]
    # The learned limits at the check, in the API, the metrics and the status page.
    assert isinstance(body["error_after_seconds"], int) and body["error_after_seconds"] < 3600
    assert isinstance(body["warn_after_seconds"], int)
    assert body["warn_after_seconds"] < body["error_after_seconds"]
    with serving(tmp_path) as served:
        wait_for(lambda: judged(served, "often"), timeout=60)
        metrics = served.metrics()
        _, page, _ = served.request("/")
    stale_limit = sample(metrics, "fresh_threshold_seconds", contract="often", level="error")
    assert stale_limit is not None and 15 * 60 < stale_limit < 3600
    deadline = sample(metrics, "fresh_deadline_timestamp_seconds", contract="often", level="error")
    assert deadline is not None and deadline < now.timestamp()
    assert "learned · warn " in page.decode()
    db = sqlite3.connect(tmp_path / "s.db")
    (blob,) = db.execute("SELECT times FROM learned_history WHERE name = 'often'").fetchone()
    kept = len(blob) // 8  # packed float64 epoch seconds
    db.close()
    assert kept > 30 * 96

    # The warehouse keeps only its last rows now: a restarted serve still knows the weeks.
    write_rows(tmp_path / "w.duckdb", times[-3:])
    with serving(tmp_path) as served:
        wait_for(lambda: (judged(served, "often") or {}).get("checked_at") != body["checked_at"],
                 timeout=60)  # fmt: skip
        again = judged(served, "often")
    assert again is not None and again["status"] == "stale"
    assert "in the last 4 weeks" in str(again["detail"]), again["detail"]
