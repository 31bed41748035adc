"""`fresh check` opens its DuckDB warehouses while it parses the contracts and closes them
while it reports (monitor/sources/sql/duckdb_handles.py), on real DuckDB files: the reader
uses the connection opened ahead, every file is closed when the command returns, and a
writer's lock is still waited for and reported as before."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from monitor.cli.app import app
from monitor.sources import duck_guard
from monitor.sources.sql import duckdb_handles, duckdb_reader
from tests.integration.check_project import AT, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's folder (fresh.yml, checks/, warehouse.duckdb)."""
    return make_project(tmp_path / "proj").parent


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """(opener, thread name) of every read-only open of a warehouse, the real one run."""
    seen: list[tuple[str, str]] = []

    def spy(opener: str) -> Any:
        def connect(path: str) -> Any:
            seen.append((opener, threading.current_thread().name))
            return duck_guard.connect_warehouse(path)

        return connect

    monkeypatch.setattr(duckdb_handles, "connect_warehouse", spy("ahead"))
    monkeypatch.setattr(duckdb_reader, "connect_warehouse", spy("reader"))
    yield seen


def check(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["check", "--config", str(config), "--at", AT, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def held(path: Path) -> bool:
    """Whether this process has `path` open (a DuckDB connection not yet closed)."""
    fds = Path("/proc/self/fd")
    return any(_target(fd) == str(path) for fd in fds.iterdir())


def _target(fd: Path) -> str | None:
    try:
        return str(fd.readlink())
    except OSError:  # closed while we looked
        return None


def writable(path: Path) -> None:
    """Opens `path` read-write in this process and writes: fails while fresh holds it."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE TABLE IF NOT EXISTS written (i INTEGER)")
    finally:
        con.close()


def test_check_reads_through_the_connection_opened_while_the_contracts_were_parsed(
    project: Path, opens: list[tuple[str, str]]
) -> None:
    code, out, _ = check(project / "fresh.yml", "--select", "shop.orders")
    assert code == 0, out
    assert opens == [("ahead", "fresh-duckdb-open")]  # and the reader opened nothing itself
    assert not held(project / "warehouse.duckdb")  # closed by the time the command returned
    writable(project / "warehouse.duckdb")


def test_a_warehouse_that_no_selected_contract_reads_is_closed_too(
    project: Path, opens: list[tuple[str, str]]
) -> None:
    other = project / "other.duckdb"
    duckdb.connect(str(other)).close()
    config = project / "fresh.yml"
    config.write_text(
        config.read_text().replace(
            "warehouses:\n", "warehouses:\n  other:\n    url: duckdb:///other.duckdb\n"
        )
    )
    code, out, _ = check(config, "--select", "shop.orders")
    assert code == 0, out
    assert sorted(opens) == [("ahead", "fresh-duckdb-open")] * 2
    assert not held(other) and not held(project / "warehouse.duckdb")
    writable(other)
    writable(project / "warehouse.duckdb")


def test_outside_a_one_shot_command_nothing_is_opened_ahead(project: Path) -> None:
    duckdb_handles.warm({"main": "duckdb:///warehouse.duckdb"}, project)
    assert duckdb_handles.take(str(project / "warehouse.duckdb")) is None


def test_a_missing_file_is_not_opened_ahead_and_is_reported_as_before(
    project: Path, opens: list[tuple[str, str]]
) -> None:
    (project / "warehouse.duckdb").unlink()
    code, out, _ = check(project / "fresh.yml", "--select", "shop.orders", "--format", "json")
    assert code == 1
    assert "does not exist" in out
    assert opens == []
    assert not (project / "warehouse.duckdb").exists()  # a read-only open creates nothing


def test_a_writer_holding_the_lock_is_waited_for_and_reported_as_before(
    project: Path, opens: list[tuple[str, str]]
) -> None:
    config = project / "fresh.yml"
    config.write_text(
        config.read_text().replace(
            "url: duckdb:///warehouse.duckdb", "url: duckdb:///warehouse.duckdb\n    timeout: 1s"
        )
    )
    code = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(project / 'warehouse.duckdb')!r})\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        status, out, _ = check(config, "--select", "shop.orders", "--format", "json")
    finally:
        holder.kill()
        holder.communicate()
    assert status == 1
    assert "stayed locked by a writer for 1s" in out
    # the open ahead failed once; the reader then tried again until the timeout
    assert opens[0] == ("ahead", "fresh-duckdb-open")
    assert opens.count(("reader", "fresh-read-sql-main")) >= 2


class _SlowClose:
    """A connection whose close takes a while (a big catalog being freed)."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def close(self) -> None:
        time.sleep(0.3)
        self.closed.set()


def test_a_one_shot_command_closes_behind_and_waits_for_the_closes_when_it_ends() -> None:
    con = _SlowClose()
    with duckdb_handles.one_shot():
        t0 = time.monotonic()
        duckdb_handles.release(con)  # type: ignore[arg-type]
        assert time.monotonic() - t0 < 0.25  # did not wait for the close
        assert not con.closed.is_set()
    assert con.closed.is_set()


def test_outside_a_one_shot_command_release_closes_at_once() -> None:
    con = _SlowClose()
    duckdb_handles.release(con)  # type: ignore[arg-type]
    assert con.closed.is_set()


def test_a_command_whose_process_ends_next_leaves_the_closes_to_settle() -> None:
    con = _SlowClose()
    t0 = time.monotonic()
    with duckdb_handles.one_shot(wait=False):
        duckdb_handles.release(con)  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 0.25 and not con.closed.is_set()
    duckdb_handles.settle()  # what the console does before an ordinary exit
    assert con.closed.is_set()


def test_the_console_script_ends_with_every_duckdb_file_read(project: Path) -> None:
    fresh = Path(sys.executable).with_name("fresh")
    done = subprocess.run(
        [str(fresh), "check", "--config", str(project / "fresh.yml"), "--at", AT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr  # shop.refunds is stale, shop.missing errors
    assert "shop.orders" in done.stdout and "Traceback" not in done.stderr
    writable(project / "warehouse.duckdb")


def test_a_reading_replaced_after_it_arrived_is_judged_on_its_replacement(tmp_path: Path) -> None:
    # check judges each reading as it arrives; a heartbeat's is replaced afterwards when the
    # state store cannot be opened, and the verdict must be the replacement's
    (tmp_path / "fresh.yml").write_text(
        "state:\n  url: sqlite:///fresh.yml/state.db\n"  # under a file: cannot be made
        "owners:\n  ops: {notify: []}\n"
    )
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "beat.yml").write_text(
        "defaults: {owner: ops}\ncontracts:\n"
        "  - {name: nightly, heartbeat: {}, error_after: 1h}\n"
    )
    code, out, _ = check(tmp_path / "fresh.yml", "--format", "json")
    assert code == 1
    (result,) = json.loads(out)["results"]
    assert result["status"] == "error"
    assert "state store could not be opened" in result["error"], result
