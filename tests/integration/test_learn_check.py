"""`learn:` end to end (SPEC 13): DuckDB tables whose `_loaded_at` follow real patterns,
`fresh check --at …` at chosen moments, and the state store's cached history."""

from __future__ import annotations

import json
import random
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from monitor.cli.app import app

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
START = MONDAY - 35 * D


def weekday_loads(start: datetime, end: datetime, skip: datetime | None = None) -> list[datetime]:
    """A daily load between 06:00 and 06:40 UTC on weekdays; a few rows per load."""
    rng = random.Random(7)
    out = []
    day = start
    while day < end:
        at = day + 6 * H + rng.uniform(0, 40) * M
        if day.weekday() < 5 and at < end and (skip is None or day.date() != skip.date()):
            out += [at + timedelta(seconds=s) for s in range(3)]
        day += D
    return out


def every_15_minutes(start: datetime, end: datetime) -> list[datetime]:
    rng = random.Random(3)
    out, t = [], start
    while t < end:
        out.append(t + timedelta(seconds=rng.uniform(0, 120)))
        t += 15 * M
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    end = MONDAY + 7 * D
    thursday = MONDAY + 3 * D
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    for table, times in (
        ("daily", weekday_loads(START, end, skip=thursday)),
        ("often", every_15_minutes(START, end)),
    ):
        con.execute(f"CREATE TABLE {table} (id INTEGER, _loaded_at TIMESTAMP)")
        con.executemany(
            f"INSERT INTO {table} VALUES (?, ?)",
            [(i, t.replace(tzinfo=None)) for i, t in enumerate(times)],
        )
    con.close()
    (tmp_path / "fresh.yml").write_text(
        textwrap.dedent("""
        warehouses:
          main: {url: "duckdb:///wh.duckdb"}
        state: {url: "sqlite:///state.db"}
        """)
    )
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "learn.yml").write_text(
        textwrap.dedent("""
        defaults: {owner: ops, column: _loaded_at, learn: true}
        contracts:
          - {name: daily, table: daily}
          - {name: often, table: often}
        """)
    )
    return tmp_path / "fresh.yml"


def check(config: Path, at: datetime, name: str) -> dict[str, object]:
    result = CliRunner().invoke(
        app,
        ["check", "--config", str(config), "--at", at.isoformat(), "--format", "json",
         "--select", name],
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    (out,) = json.loads(result.stdout)["results"]
    return out  # type: ignore[no-any-return]


def test_a_daily_load_is_fresh_on_a_normal_morning_and_stale_when_missed(project: Path) -> None:
    # Tuesday 10:00: loaded at 06:xx as usual.
    out = check(project, MONDAY + D + 10 * H, "daily")
    assert out["status"] == "fresh" and out["learned"] is True
    assert str(out["detail"]).startswith("at Tue 10:00 UTC the data was at most ")
    assert "in the last 4 weeks" in str(out["detail"])
    # Inside the usual arrival window, Wednesday 06:20, before today's load: fresh.
    assert check(project, MONDAY + 2 * D + 6 * H + 5 * M, "daily")["status"] == "fresh"
    # Thursday's load never came: stale within an hour of the latest usual arrival.
    out = check(project, MONDAY + 3 * D + 7 * H + 40 * M, "daily")
    assert out["status"] == "stale", out
    assert "now 1d 1h old" in str(out["detail"])
    assert isinstance(out["error_after_seconds"], int) and out["error_after_seconds"] < 3 * 3600


def test_monday_morning_after_a_quiet_weekend_is_fresh(project: Path) -> None:
    out = check(project, MONDAY + 5 * H + 50 * M, "daily")
    assert out["status"] == "fresh", out
    assert "now 2d 23h old" in str(out["detail"])


def test_a_table_loaded_every_15_minutes_goes_stale_within_the_hour(project: Path) -> None:
    assert check(project, MONDAY + 2 * D + 12 * H, "often")["status"] == "fresh"
    # The table's rows end at the next Monday 00:00: stale by 01:00.
    out = check(project, MONDAY + 7 * D + H, "often")
    assert out["status"] == "stale", out


def test_the_history_is_cached_in_the_state_store_and_read_once(project: Path) -> None:
    at = MONDAY + D + 10 * H
    check(project, at, "often")
    db = sqlite3.connect(project.parent / "state.db")
    blob, covered = db.execute(
        "SELECT times, (SELECT covered_until FROM learn_coverage WHERE name='often') "
        "FROM learned_history WHERE name = 'often'"
    ).fetchone()
    kept = len(blob) // 8  # packed float64 epoch seconds
    db.close()
    # 35 days every 15 minutes, at most one update per 5-minute bucket.
    assert 33 * 96 < kept <= 35 * 96 + 1
    assert covered.startswith("2026-11-03 10:00")
    # Rows removed from the warehouse are still known to the cache; a check --at an earlier
    # time reads nothing new and still finds them.
    con = duckdb.connect(str(project.parent / "wh.duckdb"))
    con.execute("DELETE FROM often WHERE _loaded_at < TIMESTAMP '2026-11-03 09:00:00'")
    con.close()
    out = check(project, at - 10 * M, "often")
    assert out["status"] == "fresh" and "in the last 4 weeks" in str(out["detail"])


def test_explain_prints_the_learned_profile_week_by_week_from_the_store(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = MONDAY + D + 10 * H  # Tuesday 10:00
    check(project, at, "daily")  # fills the cache; explain reads only the store

    class Frozen:
        def now(self) -> datetime:
            return at

    monkeypatch.setattr("monitor.cli.commands.explain.SystemClock", Frozen)
    result = CliRunner().invoke(app, ["explain", "daily", "--config", str(project)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "learned from the last 35d of updates" in out
    learned = out.split("Learned:\n", 1)[1].splitlines()
    assert learned[0].startswith("  ") and "25 updates since 2026-09-30 06:" in learned[0]
    assert learned[0].endswith("by week:")
    weeks = [line for line in learned if "updates in the week before" in line]
    assert [w.split(":")[0].strip() for w in weeks] == [
        "Tue 2026-10-27 10", "Tue 2026-10-20 10", "Tue 2026-10-13 10", "Tue 2026-10-06 10"
    ]  # fmt: skip
    assert sum("(the worst, left out)" in w for w in weeks) == 1
    assert all("5 updates in the week before" in w for w in weeks), weeks
    assert any(line.strip().startswith("usual age now ") for line in learned)
    assert learned[-1].strip().startswith("at Tue 10:00 UTC the data was at most")


def test_a_later_check_asks_the_source_only_when_its_reading_shows_something_new(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.sources.sql import backfill

    asked: list[str] = []
    real = backfill.minutes_sql

    def counted(*args: object, **kwargs: object) -> object:
        asked.append("query")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backfill, "minutes_sql", counted)
    con = duckdb.connect(str(project.parent / "wh.duckdb"))
    cut = (MONDAY + D + 10 * H).replace(tzinfo=None)
    (before,), (after,) = (
        con.execute(f"SELECT {agg}(_loaded_at) FROM often WHERE _loaded_at {op} ?", [cut])
        .fetchall()[0]
        for agg, op in (("max", "<="), ("min", ">"))
    )
    con.close()
    seen, new = before.replace(tzinfo=UTC), after.replace(tzinfo=UTC)
    check(project, seen + 5 * timedelta(seconds=1), "often")
    assert len(asked) == 1  # the first use backfills
    # Minutes later, the reading's newest update is one the cache covers: no query.
    out = check(project, new - timedelta(seconds=1), "often")
    assert len(asked) == 1 and out["status"] == "fresh"
    # A new load shows in the reading: the source is asked for what came after the cache.
    check(project, new + timedelta(seconds=1), "often")
    assert len(asked) == 2
    db = sqlite3.connect(project.parent / "state.db")
    (blob,) = db.execute("SELECT times FROM learned_history WHERE name = 'often'").fetchone()
    db.close()
    assert len(blob) // 8 > 1000  # the backfilled history, the new load among it
