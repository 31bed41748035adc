"""`fresh check` on a DuckDB project imports only what the command needs (issue 17).

The speed of `fresh check` is mostly start-up: the SQL stack, the alert senders and the
server stack cost hundreds of milliseconds to import. A real process runs the command and
reports `sys.modules` at exit, so an eager import added anywhere on the path (a module-level
`import apprise` in a shared helper, say) fails here instead of silently costing every run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.check_project import AT, make_project

# Packages the DuckDB check path never needs: the SQLAlchemy stack, the SQL parser, the
# alert senders, the HTTP server stack, the metrics client and the templates.
NOT_NEEDED = (
    "sqlalchemy",
    "sqlglot",
    "duckdb_engine",
    "apprise",
    "uvicorn",
    "starlette",
    "prometheus_client",
    "jinja2",
    # fresh.yml here has no `imports:`: the dbt / datacontract readers stay unloaded.
    "monitor.config.imports",
    # typer's pydantic adapters: plain parameters convert lean (monitor/cli/lean.py);
    # pydantic itself: a plain fresh.yml is validated lean (monitor/config/settings_lean.py).
    "typer._adapters",
    "pydantic",
    "monitor.config.settings_schema",
    "monitor.config.validation",
    # the duckdb package around the compiled module: its relation API, expression builder
    # and importlib.metadata version lookup (~70 ms); reads use `_duckdb` (duck_guard.engine)
    "duckdb",
    "importlib.metadata",
)

PROBE = """\
import atexit, sys
NOT_NEEDED = {not_needed!r}
def report():
    loaded = sorted({{n for n in NOT_NEEDED for m in sys.modules
                      if m == n or m.startswith(n + '.')}})
    print('LOADED', loaded, '_duckdb' in sys.modules, file=sys.stderr)
atexit.register(report)
from monitor.cli.app import main
sys.argv = ['fresh', *{args!r}]
main()
"""


def imports_of_check(cwd: Path, *args: str) -> tuple[int, str]:
    """Exit code and stderr of `fresh check ARGS` run in a fresh interpreter."""
    return imports_of(cwd, NOT_NEEDED, "check", *args)


def imports_of(cwd: Path, not_needed: tuple[str, ...], *args: str) -> tuple[int, str]:
    """Exit code and stderr of `fresh ARGS` run in a fresh interpreter."""
    code = PROBE.format(not_needed=not_needed, args=list(args))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="table"),
        pytest.param(["--format", "json"], id="json"),
        pytest.param(["--select", "tag:revenue"], id="select"),
    ],
)
def test_check_on_duckdb_imports_no_sql_alert_or_server_stack(
    tmp_path: Path, args: list[str]
) -> None:
    project = make_project(tmp_path / "proj")
    code, stderr = imports_of_check(project.parent, "--at", AT, *args)
    assert code in (0, 1), stderr  # the project holds stale and unreadable contracts
    assert "Traceback" not in stderr, stderr
    # The read really happened through DuckDB's compiled module (the probe is not vacuous)
    # and nothing else heavy came along.
    assert "LOADED [] True" in stderr, stderr


@pytest.mark.parametrize(
    "args", [["--help"], ["check", "--help"], ["--version"], ["silence", "add", "--help"]]
)
def test_help_and_version_import_no_pydantic(tmp_path: Path, args: list[str]) -> None:
    code, stderr = imports_of(tmp_path, ("pydantic", "typer._adapters", "duckdb", "_duckdb"), *args)
    assert code == 0, stderr
    assert "LOADED [] False" in stderr, stderr


# A module-level object is finalized only by the interpreter's teardown; atexit handlers run
# before it. The `fresh` console script (monitor.cli.app.console) skips the teardown of
# `fresh check` (monitor.cli.outcome.exit_now) but not the rest; `main` leaves it to the caller.
TEARDOWN_PROBE = """\
import atexit, sys
import monitor.cli.app as cli
class Teardown:
    def __del__(self):
        print('TORN DOWN', file=sys.stderr, flush=True)
kept = Teardown()
atexit.register(lambda: print('ATEXIT RAN', file=sys.stderr, flush=True))
if {ordinary!r}:
    cli.exit_now = lambda code: None  # the ordinary exit, for comparison
sys.argv = ['fresh', *{args!r}]
cli.console()
"""


def _probe_exit(cwd: Path, ordinary: bool, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", TEARDOWN_PROBE.format(ordinary=ordinary, args=list(args))],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_check_ends_without_teardown_with_the_same_output_code_and_atexit(
    tmp_path: Path, fmt: str
) -> None:
    project = make_project(tmp_path / "proj")
    args = ("check", "--at", AT, "--format", fmt)
    quick = _probe_exit(project.parent, False, *args)
    ordinary = _probe_exit(project.parent, True, *args)
    assert "TORN DOWN" in ordinary.stderr, ordinary.stderr  # the probe can see a teardown
    assert "TORN DOWN" not in quick.stderr, quick.stderr
    assert "ATEXIT RAN" in quick.stderr, quick.stderr
    assert quick.returncode == ordinary.returncode == 1, quick.stderr
    # the same report, but for how long each read took
    took = re.compile(r'"duration_seconds": [0-9.e-]+')
    assert took.sub("", quick.stdout) == took.sub("", ordinary.stdout)
    assert quick.stdout.strip(), quick.stderr


def test_other_commands_exit_the_ordinary_way(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    proc = _probe_exit(project.parent, False, "validate")
    assert "TORN DOWN" in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr


def test_the_console_script_and_python_m_end_check_quickly() -> None:
    root = Path(__file__).resolve().parents[2]
    pyproject = (root / "pyproject.toml").read_text()
    assert 'fresh = "monitor.cli.entry:console"' in pyproject
    assert "from monitor.cli.entry import console" in (root / "monitor/cli/__main__.py").read_text()
    # entry.console is app.console, behind the collector switch
    assert "from monitor.cli.app import console" in (root / "monitor/cli/entry.py").read_text()


GC_PROBE = """
import gc, sys
from monitor.cli.commands import check, validate
def probe(*args, **kwargs):
    print("gc", gc.isenabled())
    return 0
check.check_command = validate.validate_project = probe
sys.argv = ["fresh", *{args!r}]
from monitor.cli.entry import console
console()
"""


@pytest.mark.parametrize(("command", "enabled"), [("check", False), ("validate", True)])
def test_the_console_keeps_the_collector_off_for_check_alone(command: str, enabled: bool) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", GC_PROBE.format(args=[command])],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"gc {enabled}", proc.stderr
