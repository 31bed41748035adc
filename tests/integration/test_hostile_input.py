"""Hostile configuration against the real `fresh` processes (SPEC 16): an alias bomb is a
`validate` / `check` error naming the file, fast and with flat memory; a `fresh serve`
reload refuses it and keeps the last good configuration; SIGTERM ends `fresh serve` even
in the middle of a long reload."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.cli_project import clean_env
from tests.integration.serving import sample, start, wait_for, write_duckdb, write_project
from tests.servers import free_port
from tests.unit.test_config_limits import lol

FRESH_YML = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
state:
  url: sqlite:///.fresh/state.db
"""

GOOD = """\
defaults:
  owner: ops
contracts:
  - name: shop.orders
    table: orders
    column: t
    error_after: 1h
"""

BOMB = "defaults:\n  owner: ops\ncontracts:\n  - name: shop.bomb\n    table: t\n" + (
    "    column: c\n    error_after: 1h\n    " + lol().replace("\n  ", "\n      ")
)


def _project(root: Path) -> None:
    from datetime import UTC, datetime

    write_project(root, FRESH_YML, {"shop.yml": GOOD})
    write_duckdb(root / "warehouse.duckdb", {"orders": datetime.now(UTC)})


# `fresh ARGS`, reporting its own peak RSS at exit: the kernel's figure for a child
# (wait4's ru_maxrss) also counts the forked copy of the test process before exec.
_MEASURED = (
    "import atexit, re, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('PEAK_KB=' + re.search(r'VmHWM:\\s*(\\d+)', status).group(1), file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "sys.argv = ['fresh', *sys.argv[1:]]\n"
    "from monitor.cli.app import main\n"
    "main()\n"
)


def _run_measured(args: list[str], cwd: Path) -> tuple[int, str, float, float]:
    """(exit code, output, wall seconds, peak RSS in MB) of one real `fresh` process."""
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.monotonic() - started
    peak = re.search(r"PEAK_KB=(\d+)", out.stderr)
    assert peak is not None, out.stdout + out.stderr
    output = out.stdout + out.stderr.replace(peak.group(0), "")
    return out.returncode, output, seconds, int(peak.group(1)) / 1024


def test_validate_and_check_refuse_an_alias_bomb_naming_the_file_fast_with_flat_memory(
    tmp_path: Path,
):
    _project(tmp_path)
    (tmp_path / "checks" / "bomb.yml").write_text(BOMB)
    for args in (["validate"], ["check"], ["check", "--format", "json"]):
        code, output, seconds, rss_mb = _run_measured(args, tmp_path)
        assert code == 2, output
        assert re.search(r"checks/bomb\.yml:\d+:\d+: aliases expand this document", output), output
        # the process as a whole (Python start-up and imports included) on a busy machine;
        # expanding the bomb took 4.8 GB in 30 s before the cap
        assert seconds < 15, seconds
        assert rss_mb < 120, rss_mb  # ~35 MB measured; `check` on this project alone: ~85 MB
        assert len(output) < 2000


def test_a_serve_reload_refuses_a_bomb_and_keeps_the_last_good_configuration(tmp_path: Path):
    _project(tmp_path)
    served = start(tmp_path)
    try:
        wait_for(lambda: served.get_json("/api/v1/contracts/shop.orders")[0] == 200)
        (tmp_path / "checks" / "bomb.yml").write_text(BOMB)
        wait_for(lambda: "reload_refused" in served.log(), timeout=30)
        assert re.search(r"checks/bomb\.yml:\d+:\d+: aliases expand", served.log()), served.log()
        assert sample(served.metrics(), "fresh_config_last_reload_successful") == 0
        assert served.get_json("/api/v1/contracts/shop.orders")[0] == 200
        assert served.get_json("/api/v1/contracts/shop.bomb")[0] == 404
        rss_kb = int(
            Path(f"/proc/{served.proc.pid}/status").read_text().split("VmHWM:")[1].split()[0]
        )
        assert rss_kb < 400 * 1024
    finally:
        assert served.stop() == 0, served.log()


def test_sigterm_ends_serve_in_the_middle_of_a_long_reload(tmp_path: Path):
    _project(tmp_path)
    served = start(tmp_path)
    try:
        wait_for(lambda: served.get_json("/api/v1/contracts/shop.orders")[0] == 200)
        # An honest but huge file: reading it takes several seconds (100,000 contracts)
        big = "".join(
            f"  - name: big.t{i}\n    table: t{i}\n    column: c\n    error_after: 1h\n"
            for i in range(100_000)
        )
        (tmp_path / "checks" / "big.yml").write_text("defaults:\n  owner: ops\ncontracts:\n" + big)
        wait_for(lambda: "files_changed" in served.log(), timeout=30)
        time.sleep(0.5)  # well inside the reload
        served.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = served.proc.wait(timeout=60)
        took = time.monotonic() - started
        log = served.log()
        assert "event=reloaded" not in log, "the reload finished before SIGTERM: test invalid"
        assert code == 0, log
        assert took < 10, f"{took:.1f}s after SIGTERM\n{log}"
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


BAD_NOTIFY = FRESH_YML + "owners:\n  ops:\n    notify: ['slack://not-a-token']\n"


def test_validate_refuses_a_notify_url_apprise_cannot_read_while_check_never_imports_apprise(
    tmp_path: Path,
):
    _project(tmp_path)
    (tmp_path / "fresh.yml").write_text(BAD_NOTIFY)
    code, output, _, _ = _run_measured(["validate"], tmp_path)
    assert code == 2
    assert "fresh.yml:8:14: owners.ops.notify[0]: apprise cannot read this slack:// URL" in output
    assert "not-a-token" not in output
    # `fresh check` sends nothing: it neither checks the URL nor pays apprise's import
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('apprise' in sys.modules, file=sys.stderr))\n"
        "sys.argv = ['fresh', 'check']\n"
        "from monitor.cli.app import main\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr.strip().splitlines()[-1] == "False"


def test_a_serve_reload_refuses_a_notify_url_no_sender_can_read(tmp_path: Path):
    _project(tmp_path)
    served = start(tmp_path)
    try:
        wait_for(lambda: served.get_json("/api/v1/contracts/shop.orders")[0] == 200)
        (tmp_path / "fresh.yml").write_text(BAD_NOTIFY)
        wait_for(lambda: "reload_refused" in served.log(), timeout=30)
        assert "fresh.yml:8:14: owners.ops.notify[0]: apprise cannot read" in served.log()
        assert "not-a-token" not in served.log()
        assert sample(served.metrics(), "fresh_config_last_reload_successful") == 0
    finally:
        assert served.stop() == 0, served.log()


# `fresh serve` whose configuration loads block for good once a file named BLOCK exists:
# the stand-in for a reload that never ends (the alias bomb that grew to 5 GB did not).
_BLOCKING_SERVE = (
    "import sys, threading\n"
    "from pathlib import Path\n"
    "import monitor.serve.service as service\n"
    "real = service.load_project\n"
    "def load_project(*args, **kw):\n"
    "    if Path('BLOCK').exists():\n"
    "        print('reload blocked', file=sys.stderr, flush=True)\n"
    "        threading.Event().wait()\n"
    "    return real(*args, **kw)\n"
    "service.load_project = load_project  # what reloads call\n"
    "sys.argv = ['fresh', *sys.argv[1:]]\n"
    "from monitor.cli.app import main\n"
    "main()\n"
)


def test_sigterm_ends_serve_even_when_a_reload_never_returns(tmp_path: Path):
    _project(tmp_path)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _BLOCKING_SERVE, "serve", "--listen", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "event=started" in log_path.read_text(), timeout=60)
        (tmp_path / "BLOCK").touch()
        proc.send_signal(signal.SIGHUP)  # reload now
        wait_for(lambda: "reload blocked" in log_path.read_text(), timeout=30)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = proc.wait(timeout=60)  # before the fix: never (until SIGKILL)
        took = time.monotonic() - started
        log = log_path.read_text()
        assert code == 0, log
        assert took < 15, f"{took:.1f}s after SIGTERM\n{log}"
        assert "event=stopped" in log and "stop_forced" not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
