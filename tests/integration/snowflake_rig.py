"""fakesnow's HTTP server for the Snowflake tests, and how fresh runs against it.

Two venvs under .venvs-test/ (built by `make snowflake-venvs`, reused when present): fakesnow
pins its own duckdb and sqlglot, and snowflake-sqlalchemy 1.x needs SQLAlchemy 2.0.x while
the suite runs 2.1; so fakesnow runs from one, and fresh with the `snowflake` extra from the
other, as subprocesses. The connector reaches fakesnow over HTTP through a connections.toml
entry (snowflake-sqlalchemy refuses host/protocol in the URL), named by `?connection_name=`.
The server (fakesnow_server.py) records every login's session parameters and every query's
SQL text, so tests see the QUERY_TAG and count the statements the server received.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.serving import wait_for
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / ".venvs-test"
FAKESNOW_PY = VENVS / "fakesnow" / "bin" / "python"
FRESH_PY = VENVS / "snowflake" / "bin" / "python"

SEED = """
import sys, snowflake.connector
con = snowflake.connector.connect(user="fake", password="snow", account="fake",
    host="127.0.0.1", port=int(sys.argv[1]), protocol="http")
cur = con.cursor()
for sql in sys.stdin.read().split(";\\n"):
    if sql.strip():
        cur.execute(sql)
"""


@dataclass
class Fakesnow:
    """A running fakesnow server and the SNOWFLAKE_HOME that points the connector at it."""

    port: int
    home: Path
    logins: Path
    queries: Path

    def sessions(self) -> list[dict[str, object]]:
        """SESSION_PARAMETERS of every login the server received."""
        return _lines(self.logins)

    def statements(self) -> list[str]:
        """The SQL text of every query the server received, in order."""
        return _lines(self.queries)

    def seed(self, sql: str) -> None:
        """Run `sql` (statements separated by ";\\n") through the real connector."""
        done = subprocess.run(
            [str(FAKESNOW_PY), "-c", SEED, str(self.port)],
            input=sql,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]

    def env(self) -> dict[str, str]:
        """The environment a `fresh` subprocess reaches this server with."""
        return {**os.environ, "SNOWFLAKE_HOME": str(self.home)}

    def check(self, cwd: Path, *args: str) -> dict[str, dict[str, Any]]:
        """`fresh check --format json` run by the snowflake venv: results by contract."""
        proc = subprocess.run(
            [str(FRESH_PY), "-m", "monitor.cli", "check", "--format", "json", *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode in (0, 1), proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        return {r["contract"]: r for r in json.loads(proc.stdout)["results"]}


def _lines(path: Path) -> list[Any]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines()]


def _venvs() -> None:
    """Build the two venvs with `make snowflake-venvs` when missing; skip loudly if pip
    cannot reach the package registry."""
    if (VENVS / "fakesnow" / ".installed").exists() and (
        VENVS / "snowflake" / ".installed"
    ).exists():
        return
    proc = subprocess.run(
        ["make", "snowflake-venvs"], cwd=ROOT, capture_output=True, text=True, timeout=1200
    )
    if proc.returncode != 0:
        why = proc.stderr[-2000:]
        pytest.skip(f"SKIPPED LOUDLY: cannot build the Snowflake test venvs:\n{why}")


@contextmanager
def running_fakesnow(work: Path) -> Iterator[Fakesnow]:
    """fakesnow's server on a free port, with a connections.toml entry `fakesnow`."""
    _venvs()
    port = free_port()
    fs = Fakesnow(port, work / "home", work / "logins.jsonl", work / "queries.jsonl")
    log = (work / "server.log").open("wb")
    script = Path(__file__).with_name("fakesnow_server.py")
    proc = subprocess.Popen(
        [str(FAKESNOW_PY), str(script), str(port), str(fs.logins), str(fs.queries)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def up() -> bool:
            assert proc.poll() is None, (work / "server.log").read_text()
            try:
                fs.seed("SELECT 1")
            except AssertionError:
                return False
            return True

        wait_for(up, timeout=60, step=0.5)
        fs.home.mkdir()
        toml = fs.home / "connections.toml"
        toml.write_text(
            "[fakesnow]\n"
            'account = "fake"\nuser = "fake"\npassword = "snow"\n'
            f'host = "127.0.0.1"\nport = {port}\nprotocol = "http"\n'
        )
        toml.chmod(0o600)  # the connector refuses a connections.toml others can read
        yield fs
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
