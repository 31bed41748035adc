"""`fresh run NAME -- CMD…` as a real process: output and exit code pass through, signals
reach the child, and every run is recorded (or warned about, never failing the job)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli.app import app
from monitor.store import OUTPUT_LIMIT, Ping, Store
from tests.integration.cli_project import FRESH, clean_env, fresh, make_project
from tests.servers import free_port


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def pings(project: Path, name: str) -> list[Ping]:
    with Store.open("sqlite:///.fresh/state.db", project) as store:
        return list(reversed(store.pings(name)))


def test_a_failing_command_passes_its_output_and_exit_code_through_and_is_recorded(
    project: Path,
) -> None:
    res = fresh(
        "run", "nightly_export", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3", cwd=project
    )
    assert res.returncode == 3
    assert res.stdout == "hi\n"
    assert res.stderr == "oops\n"
    start, end = pings(project, "nightly_export")
    assert (start.kind, end.kind, end.exit_code) == ("start", "fail", 3)
    assert start.run_id is not None and start.run_id == end.run_id
    assert end.output is not None and "hi\n" in end.output and "oops\n" in end.output
    assert end.duration_seconds is not None and end.duration_seconds >= 0
    assert end.at >= start.at


def test_a_succeeding_command_is_recorded_as_a_success(project: Path) -> None:
    res = fresh("run", "nightly_export", "--", sys.executable, "-c", "print('done')", cwd=project)
    assert (res.returncode, res.stdout, res.stderr) == (0, "done\n", "")
    assert [(p.kind, p.exit_code) for p in pings(project, "nightly_export")] == [
        ("start", None),
        ("success", 0),
    ]


def test_standard_input_reaches_the_command(project: Path) -> None:
    res = fresh("run", "nightly_export", "--", "cat", cwd=project, stdin=None, input="from cron\n")
    assert (res.returncode, res.stdout) == (0, "from cron\n")


def test_only_the_last_10_kb_of_a_long_output_are_kept_but_all_of_it_passes_through(
    project: Path,
) -> None:
    script = "for i in range(20000): print(f'line {i:05d}')"
    res = fresh("run", "nightly_export", "--", sys.executable, "-c", script, cwd=project)
    assert res.returncode == 0
    assert len(res.stdout.splitlines()) == 20000
    end = pings(project, "nightly_export")[-1]
    assert end.output is not None and end.output.endswith("line 19999\n")
    assert OUTPUT_LIMIT - 20 < len(end.output.encode()) <= OUTPUT_LIMIT


def test_a_command_that_does_not_exist_exits_127_and_is_recorded_as_a_fail(
    project: Path,
) -> None:
    res = fresh("run", "nightly_export", "--", "no-such-command-xyz", "--flag", cwd=project)
    assert res.returncode == 127
    assert "no-such-command-xyz: command not found" in res.stderr
    assert "Traceback" not in res.stderr
    end = pings(project, "nightly_export")[-1]
    assert (end.kind, end.exit_code) == ("fail", 127)


def test_a_sigterm_to_fresh_run_reaches_the_child(project: Path) -> None:
    child = (
        "import signal, sys, time\n"
        "def bye(sig, frame):\n"
        "    print(f'child got {sig}', flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [FRESH, "run", "nightly_export", "--", sys.executable, "-c", child],
        cwd=project,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert out == f"child got {int(signal.SIGTERM)}\n", err
    assert proc.returncode == 0  # the child handled it and exited 0: that is what passes


def test_a_child_killed_by_a_signal_exits_128_plus_the_signal(project: Path) -> None:
    proc = subprocess.Popen(
        [FRESH, "run", "nightly_export", "--", "sh", "-c", "echo ready; exec sleep 60"],
        cwd=project,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert time.monotonic() - started < 20  # sleep was stopped, not waited for
    end = pings(project, "nightly_export")[-1]
    assert (end.kind, end.exit_code) == ("fail", 143)


def test_an_unreachable_store_only_warns_and_keeps_the_exit_code(tmp_path: Path) -> None:
    project = make_project(tmp_path, f"postgresql+psycopg://u:s3cret@127.0.0.1:{free_port()}/x")
    res = fresh("run", "nightly_export", "--", "sh", "-c", "echo work; exit 5", cwd=project)
    assert res.returncode == 5
    assert res.stdout == "work\n"
    assert "fresh run: warning: could not record /start" in res.stderr
    assert "could not record /fail" in res.stderr
    assert "s3cret" not in res.stderr and "Traceback" not in res.stderr


def test_an_unknown_contract_only_warns_and_still_runs_the_job(project: Path) -> None:
    res = fresh("run", "nightly_exprot", "--", "sh", "-c", "echo work", cwd=project)
    assert (res.returncode, res.stdout) == (0, "work\n")
    assert "did you mean 'nightly_export'" in res.stderr
    assert pings(project, "nightly_exprot") == []


def test_run_without_a_command_is_a_usage_error(project: Path) -> None:
    res = fresh("run", "nightly_export", cwd=project)
    assert res.returncode == 2
    assert "fresh run NAME -- CMD" in res.stderr


def test_arguments_after_the_double_dash_are_passed_untouched(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    for key in ("FRESH_URL", "FRESH_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(
        app, ["run", "nightly_export", "--", "sh", "-c", 'echo "$0 $1"; exit 4', "--url", "--help"]
    )
    assert result.exit_code == 4
    assert "--url --help" in result.output


def test_it_returns_when_the_command_exits_though_a_background_process_holds_its_output(
    project: Path,
) -> None:
    started = time.monotonic()
    res = fresh(
        "run", "nightly_export", "--", "sh", "-c", "sleep 8 & echo started; exit 0", cwd=project
    )
    took = time.monotonic() - started
    assert (res.returncode, res.stdout) == (0, "started\n")
    assert took < 6, took  # the background sleep holds the pipe for 8 s
    start, end = pings(project, "nightly_export")
    assert (start.kind, end.kind, end.exit_code) == ("start", "success", 0)
    assert end.duration_seconds is not None and end.duration_seconds < 2, end.duration_seconds
    assert end.output == "started\n"


def test_a_background_process_that_keeps_writing_does_not_hold_it_either(
    project: Path,
) -> None:
    started = time.monotonic()
    res = fresh(
        "run", "nightly_export", "--", "sh", "-c",
        "(i=0; while [ $i -lt 600 ]; do echo tick; sleep 0.02; i=$((i+1)); done) & "
        "echo started; exit 4",
        cwd=project,
    )
    took = time.monotonic() - started
    assert res.returncode == 4 and "started\n" in res.stdout
    assert took < 8, took  # the writer would run for 12 s
    end = pings(project, "nightly_export")[-1]
    assert (end.kind, end.exit_code) == ("fail", 4)
    assert end.duration_seconds is not None and end.duration_seconds < 2
