"""Shared by the backfill tests of learned expectations (SPEC 13): a project on disk, a
`fresh check --at` through the CLI, and what the state store's cache holds."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli.app import app

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


def hourly(start: datetime, end: datetime, minute: int = 7) -> list[datetime]:
    """An update at hh:`minute` every hour in [start, end)."""
    t = start.replace(minute=minute, second=0, microsecond=0)
    if t < start:
        t += H
    out = []
    while t < end:
        out.append(t)
        t += H
    return out


def project(root: Path, warehouses: str, contracts: str, extra: str = "") -> Path:
    """fresh.yml (the warehouses given, a SQLite state store) + checks/learn.yml; returns
    the path of fresh.yml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "fresh.yml").write_text(
        textwrap.dedent(warehouses).strip()
        + '\nstate: {url: "sqlite:///state.db"}\n'
        + textwrap.dedent(extra)
    )
    (root / "checks").mkdir(exist_ok=True)
    (root / "checks" / "learn.yml").write_text(
        "defaults: {owner: ops}\ncontracts:\n" + textwrap.indent(textwrap.dedent(contracts), "  ")
    )
    return root / "fresh.yml"


def check(config: Path, at: datetime, *names: str) -> dict[str, dict[str, object]]:
    """`fresh check --at AT --format json` of the named contracts: results by name."""
    args = ["check", "--config", str(config), "--at", at.isoformat(), "--format", "json"]
    for name in names:
        args += ["--select", name]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return {r["contract"]: r for r in json.loads(result.stdout)["results"]}


def assert_learned(out: dict[str, object]) -> None:
    """A learned verdict from history: limits learned, not `learning`, no backfill problem."""
    detail = str(out["detail"])
    assert out["learned"] is True, out
    assert "the data was at most" in detail and "backfill failed" not in detail, out
    assert isinstance(out["error_after_seconds"], int), out


def assert_learning(out: dict[str, object]) -> None:
    """Still learning: what fresh observed alone (one update) teaches nothing yet."""
    assert str(out["detail"]).startswith("learning: 1 updates seen since"), out


def kept(config: Path, name: str) -> list[datetime]:
    """The update times the state store keeps for `name` (its learned history)."""
    db = sqlite3.connect(config.parent / "state.db")
    try:
        row = db.execute("SELECT times FROM learned_history WHERE name = ?", (name,)).fetchone()
    finally:
        db.close()
    if row is None:
        return []
    from monitor.store.learned import unpack

    return [datetime.fromtimestamp(t, UTC) for t in unpack(row[0])]
