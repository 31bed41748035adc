"""Start `fresh serve` as a real subprocess on a free port, for the integration tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.servers import free_port


@dataclass
class Served:
    """A running `fresh serve`."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int
    directory: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(
        self,
        path: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        req = urllib.request.Request(
            self.url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}

    def get_json(self, path: str, **kw: Any) -> tuple[int, Any]:
        status, body, _ = self.request(path, **kw)
        return status, json.loads(body)

    def metrics(self) -> str:
        status, body, _ = self.request("/metrics")
        assert status == 200
        return body.decode()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def wait_for(predicate: Callable[[], Any], timeout: float = 20, step: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(step)


# The start of fresh.yml for a serve on a SQLite warehouse (wh.sqlite, filled by
# `put_table`) whose alerts link to a public URL; a test appends its owners and alerts.
SQLITE_SERVE_YML = """\
warehouses:
  main:
    url: sqlite:///wh.sqlite
state:
  url: sqlite:///state.db
server:
  public_url: https://fresh.example.com
"""


def put_table(db: Path, table: str, newest: datetime | None) -> None:
    """(Re)create `table` (column `t`) in the SQLite file `db` with one row at `newest`, or
    drop it (None: reads of it then fail)."""
    with sqlite3.connect(db) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        if newest is not None:
            conn.execute(f"CREATE TABLE {table} (t TIMESTAMP)")
            conn.execute(f"INSERT INTO {table} VALUES (?)", (newest.strftime("%Y-%m-%d %H:%M:%S"),))


def write_project(directory: Path, fresh_yml: str, checks: dict[str, str]) -> None:
    """fresh.yml and checks/NAME.yml files in `directory`."""
    (directory / "fresh.yml").write_text(fresh_yml)
    (directory / "checks").mkdir(exist_ok=True)
    for name, text in checks.items():
        (directory / "checks" / name).write_text(text)


def start(
    directory: Path,
    *args: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
    python: str = sys.executable,
) -> Served:
    """Start `fresh serve` in `directory` (run by `python`, e.g. another venv's);
    returns once it answers /healthz."""
    port = port or free_port()
    log_path = directory / f"serve-{port}.log"
    full_env = {**os.environ, **(env or {})}
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [python, "-m", "monitor.cli", "serve", "--listen", f"127.0.0.1:{port}", *args],
            cwd=directory,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(proc, f"http://127.0.0.1:{port}", port, directory, log_path)

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"fresh serve exited {proc.returncode}:\n{served.log()}")
        try:
            return served.request("/healthz")[0] == 200
        except OSError:
            return False

    wait_for(up, timeout=30)
    return served


@contextmanager
def serving(directory: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`start` … SIGTERM; the service must then exit 0."""
    served = start(directory, *args, env=env)
    try:
        yield served
    finally:
        code = served.stop()
        assert code == 0, f"fresh serve exited {code} after SIGTERM:\n{served.log()}"


def write_duckdb(path: Path, tables: dict[str, datetime | None]) -> None:
    """One table per entry with a timestamp column `t` holding that (UTC) time."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        for table, when in tables.items():
            con.execute(f"CREATE OR REPLACE TABLE {table} (t TIMESTAMP)")
            if when is not None:
                naive = when.astimezone(UTC).replace(tzinfo=None)
                con.execute(f"INSERT INTO {table} VALUES (?)", [naive])
    finally:
        con.close()


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def sample(text: str, name: str, **labels: str) -> float | None:
    """The one sample of `name` whose labels include `labels`, or None."""
    found = [
        v
        for (n, ls), v in parse_metrics(text).items()
        if n == name and set(labels.items()) <= set(ls)
    ]
    assert len(found) <= 1, found
    return found[0] if found else None
