"""`fresh silence add|list|remove` against the state store named in fresh.yml."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.alerts import silences
from monitor.cli.app import app
from monitor.store import Store
from tests.integration.alerting_helpers import T0


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fresh.yml").write_text("state:\n  url: sqlite:///state.db\n")
    (tmp_path / "checks").mkdir()
    return tmp_path / "fresh.yml"


def test_add_prints_an_id_list_shows_it_and_remove_ends_it(project: Path) -> None:
    runner = CliRunner()
    cfg = ["--config", str(project)]
    added = runner.invoke(
        app,
        [
            "silence",
            "add",
            "contract:raw_*",
            "owner:ops",
            "--for",
            "2h",
            "--reason",
            "loader migration",
            *cfg,
        ],
    )
    assert added.exit_code == 0, added.output
    sid = added.output.strip()
    assert re.fullmatch(r"[0-9a-f]{8}", sid)
    listed = runner.invoke(app, ["silence", "list", *cfg])
    assert listed.exit_code == 0
    header, row = listed.output.splitlines()
    assert header.split() == ["ID", "SOURCE", "MATCHERS", "REASON", "ENDS"]
    assert row.startswith(sid) and "contract:raw_* owner:ops" in row
    assert "loader migration" in row
    assert "(in 1h 59m)" in row or "(in 2h)" in row
    removed = runner.invoke(app, ["silence", "remove", sid, *cfg])
    assert removed.exit_code == 0 and sid in removed.output
    assert runner.invoke(app, ["silence", "list", *cfg]).output == "No active silences.\n"
    again = runner.invoke(app, ["silence", "remove", sid, *cfg])
    assert again.exit_code == 2 and "no active silence" in again.output


def test_a_bad_matcher_or_duration_is_a_usage_error(project: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(
        app, ["silence", "add", "colour:red", "--for", "1h", "--config", str(project)]
    )
    assert bad.exit_code == 2 and "invalid matcher 'colour:red'" in bad.output
    worse = runner.invoke(
        app, ["silence", "add", "owner:ops", "--for", "soon", "--config", str(project)]
    )
    assert worse.exit_code == 2 and "invalid duration" in worse.output


def test_silences_expire_on_their_own(project: Path) -> None:
    with Store.open("sqlite:///state.db", project.parent) as store:
        s = silences.add(store, (("tag", "x"),), starts_at=T0, ends_at=T0 + timedelta(hours=1))
        assert [x.id for x in silences.active(store, T0 + timedelta(minutes=59))] == [s.id]
        assert silences.active(store, T0 + timedelta(hours=1)) == []


def test_fresh_silence_works_as_a_real_command(project: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "silence",
            "add",
            "severity:critical",
            "--for",
            "30m",
            "--config",
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    sid = out.stdout.strip()
    listed = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "silence", "list", "--config", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert sid in listed.stdout and "severity:critical" in listed.stdout


def test_add_until_a_timestamp_ends_the_silence_then(project: Path) -> None:
    runner = CliRunner()
    cfg = ["--config", str(project)]
    added = runner.invoke(
        app, ["silence", "add", "owner:ops", "--until", "2999-01-01T00:00:00Z", *cfg]
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["silence", "list", *cfg]).output
    assert "2999-01-01 00:00:00 UTC" in listed and added.output.strip() in listed
    past = runner.invoke(app, ["silence", "add", "owner:ops", "--until", "2001-01-01", *cfg])
    assert past.exit_code == 2 and "not in the future" in past.output
    both = runner.invoke(app, ["silence", "add", "owner:ops", *cfg])
    assert both.exit_code == 2 and "--for DURATION or --until TIMESTAMP" in both.output
    bad = runner.invoke(app, ["silence", "add", "owner:ops", "--until", "someday", *cfg])
    assert bad.exit_code == 2 and "is not a time" in bad.output


def test_list_shows_open_maintenance_windows_with_source_config(project: Path) -> None:
    project.write_text(
        "state:\n  url: sqlite:///state.db\n"
        "alerts:\n  maintenance:\n"
        "    - match: {tag: nightly}\n      schedule: '0 * * * *'\n      duration: 3h\n"
        "      reason: warehouse vacuum\n"
        "    - match: {owner: ops}\n      start: 2001-01-01T00:00:00Z\n"
        "      end: 2001-01-02T00:00:00Z\n"
    )
    runner = CliRunner()
    listed = runner.invoke(app, ["silence", "list", "--config", str(project)])
    assert listed.exit_code == 0, listed.output
    _header, row = listed.output.splitlines()  # the one-off window is long over
    assert row.split()[:4] == ["config-1", "config", "tag:nightly", "warehouse"]
    removed = runner.invoke(app, ["silence", "remove", "config-1", "--config", str(project)])
    assert removed.exit_code == 2 and "edit alerts.maintenance" in removed.output
