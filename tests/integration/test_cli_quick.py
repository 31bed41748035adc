"""A plain `fresh check` runs without typer (monitor/cli/quick.py): the same command lines,
run as the console script does and through typer's app, print the same bytes and exit with
the same code; anything but a plain command line goes to typer; and the quick path imports
no typer at all."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import quick
from monitor.cli.quick import quick_args
from tests.integration.check_project import AT, make_project

CONSOLE = "import sys; sys.argv = ['fresh', *{args!r}]; from {module} import console; console()"
TOOK = re.compile(r'("duration_seconds": |time=")[0-9.e-]+')


def run(cwd: Path, module: str, args: list[str], **env: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", CONSOLE.format(args=args, module=module)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    # how long each read took is all that may differ between two runs
    return proc.returncode, TOOK.sub(r"\1", proc.stdout), proc.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("quick") / "proj").parent


CASES = [
    ["check", "--at", AT],
    ["check", "--at", AT, "--format", "json"],
    ["check", f"--at={AT}", "-f", "junit", "--fail-on", "warn"],
    ["check", "--at", AT, "-f", "markdown", "-s", "shop.orders", "--select", "tag:revenue"],
    ["check", "--at", AT, "--format=github", "--select=shop.refunds"],
    ["check", "--at", AT, "--config", "fresh.yml", "--checks", "checks", "-f", "json"],
    ["check", "--at", AT, "--format", "yaml"],  # unknown format: usage error
    ["check", "--at", AT, "--fail-on", "never"],
    ["check", "--at", "yesterday"],
    ["check", "--at", AT, "--select", "no.such.contract"],
    ["check", "--at", AT, "--config", "missing.yml"],
    ["check", "--at", AT, "--checks", "no-such-folder"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a[3:]) or "table" for a in CASES])
def test_the_quick_path_prints_and_exits_as_typer_does(project: Path, args: list[str]) -> None:
    assert quick_args(args, {}) is not None  # these really take the quick path
    quick = run(project, "monitor.cli.entry", args)
    typer = run(project, "monitor.cli.app", args)
    assert quick == typer
    assert "Traceback" not in quick[2], quick[2]


def test_a_report_written_to_a_file_is_the_same(project: Path, tmp_path: Path) -> None:
    got = {}
    for module in ("monitor.cli.entry", "monitor.cli.app"):
        out = tmp_path / f"{module}.json"
        args = ["check", "--at", AT, "-f", "json", "-o", str(out)]
        code, stdout, stderr = run(project, module, args)
        assert json.loads(out.read_text())["results"]
        report = TOOK.sub(r"\1", out.read_text())
        got[module] = (code, stdout, stderr.replace(str(out), "OUT"), report)
    assert got["monitor.cli.entry"] == got["monitor.cli.app"]


def test_a_broken_config_is_reported_the_same(tmp_path: Path) -> None:
    (tmp_path / "fresh.yml").write_text("warehouses:\n  main:\n    url: 42\n    colour: red\n")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "a.yml").write_text("contracts:\n  - {name: x, table: t}\n")
    args = ["check", "--at", AT]
    quick = run(tmp_path, "monitor.cli.entry", args)
    assert quick == run(tmp_path, "monitor.cli.app", args)
    assert quick[0] == 2 and "errors found." in quick[2], quick


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["validate"],
        ["check", "--help"],
        ["check", "-h"],
        ["check", "--"],
        ["check", "extra"],
        ["check", "--format"],  # no value
        ["check", "--format", ""],
        ["check", "--format="],
        ["check", "--at", "-1d"],  # a value that looks like an option
        ["check", "--format", "json", "--format", "table"],  # given twice
        ["check", "--formats", "json"],
        ["check", "-sfoo"],
        ["check", "-s=foo"],
        ["check", "--version"],
        ["--version", "check"],
    ],
)
def test_anything_but_a_plain_check_goes_to_typer(args: list[str]) -> None:
    assert quick_args(args, {}) is None


def test_the_environment_can_send_a_check_to_typer() -> None:
    assert quick_args(["check"], {}) == {"select": []}
    assert quick_args(["check"], {"FRESH_CONFIG": "x.yml"}) is None  # typer reads it
    assert quick_args(["check"], {"_FRESH_COMPLETE": "bash_source"}) is None  # completion


def test_a_path_that_exists_but_cannot_be_read_goes_to_typer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # typer refuses an existing path it cannot read ("… is not readable"); as root every
    # path is readable, so the permission check itself is what stands in here
    config = tmp_path / "fresh.yml"
    config.write_text("")
    assert quick_args(["check", "--config", str(config)], {}) == {
        "select": [],
        "config": config,
    }
    monkeypatch.setattr(quick.os, "access", lambda path, mode: False)
    assert quick_args(["check", "--config", str(config)], {}) is None
    assert quick_args(["check", "--output", str(config)], {}) is None
    assert quick_args(["check", "--output", str(tmp_path / "new.json")], {}) is not None


def test_a_plain_check_imports_no_typer(project: Path) -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('TYPER', 'typer' in sys.modules, file=sys.stderr))\n"
        + CONSOLE.format(args=["check", "--at", AT], module="monitor.cli.entry")
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1, proc.stderr  # stale and missing contracts
    assert "TYPER False" in proc.stderr, proc.stderr
