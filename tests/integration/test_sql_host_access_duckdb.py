"""A contract's SQL on DuckDB reads the warehouse's tables and nothing else of the host.

The contracts here are built in code, so config validation is bypassed, and the run-time text
scan that refuses these calls first (monitor.config.sqldeny) is switched off: what is proven is the
last fence, the locked connection.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from monitor.config.settings import Warehouse
from monitor.core.models import FilesSource
from monitor.sources.duck_guard import connect_files
from monitor.sources.files import reader as files
from tests.integration.source_helpers import contract, ctx_for
from tests.integration.sql_helpers import query, read, settings, table

MARKER = "TOPSECRET7f3a"


@pytest.fixture(autouse=True)
def without_the_text_fence(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the host-reaching calls through the text scan: the connection must refuse them."""
    monkeypatch.setattr("monitor.sources.sql.shared.host_reach", lambda sql, dialect="": None)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A warehouse file beside host files holding MARKER (in content and in a name)."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE TABLE orders (loaded_at TIMESTAMP)")
    con.execute("INSERT INTO orders VALUES ('2026-11-27 09:00:00')")
    con.close()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "env.txt").write_text(f"AWS_SECRET={MARKER}\n")
    (secrets / "passwd.csv").write_text(f"{MARKER},x,0\n")
    (secrets / f"{MARKER}.key").write_text("k")
    return tmp_path


def leaks(text: str | None) -> bool:
    """Whether `text` carries MARKER as written, upper-cased or base64-encoded."""
    if not text:
        return False
    encoded = base64.b64encode(f"AWS_SECRET={MARKER}\n".encode()).decode()
    return MARKER in text or MARKER.upper() in text or encoded[:12] in text


def probes(d: Path) -> dict[str, str]:
    """Expressions that, unfenced, put MARKER in the reading's error text."""
    env, csv = d / "secrets/env.txt", d / "secrets/passwd.csv"
    return {
        "read_text": f"(SELECT content FROM read_text('{env}'))",
        "upper": f"(SELECT upper(content) FROM read_text('{env}'))",
        "to_base64": f"(SELECT to_base64(content) FROM read_blob('{env}'))",
        "read_csv": f"(SELECT column0 FROM read_csv('{csv}', header = false))",
        "glob": f"(SELECT max(file) FROM glob('{d}/secrets/*.key'))",
    }


def test_query_contracts_cannot_read_host_files(host: Path) -> None:
    contracts = [
        query(name, f"SELECT CAST({expr} AS TIMESTAMP)") for name, expr in probes(host).items()
    ]
    got = read(contracts, settings(host, main=Warehouse(url="duckdb:///warehouse.duckdb")))
    for name, reading in got.items():
        assert reading.error is not None, name
        assert "disabled by configuration" in reading.error, (name, reading.error)
        assert not leaks(reading.error), (name, reading.error)


def test_where_filters_cannot_read_host_files(host: Path) -> None:
    contracts = [
        table(name, "orders", "loaded_at", where=f"CAST({expr} AS TIMESTAMP) IS NOT NULL")
        for name, expr in probes(host).items()
    ]
    got = read(contracts, settings(host, main=Warehouse(url="duckdb:///warehouse.duckdb")))
    for name, reading in got.items():
        assert reading.error is not None, name
        assert not leaks(reading.error), (name, reading.error)


def test_a_query_cannot_unlock_the_connection(host: Path) -> None:
    sql = "SELECT max(loaded_at) FROM orders WHERE current_setting('lock_configuration')"
    got = read([query("q", sql)], settings(host, main=Warehouse(url="duckdb:///warehouse.duckdb")))
    assert got["q"].error is None and got["q"].last_update is not None


def test_an_http_read_never_installs_an_extension(
    host: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    url = "http://127.0.0.1:9/orders.csv"
    contracts = [
        query("q", f"SELECT max(ts) FROM read_csv('{url}')"),
        table("w", "orders", "loaded_at", where=f"EXISTS (SELECT * FROM '{url}')"),
    ]
    got = read(contracts, settings(host, main=Warehouse(url="duckdb:///warehouse.duckdb")))
    assert all(r.error for r in got.values()), got
    assert list(home.iterdir()) == []  # no ~/.duckdb/extensions, nothing at all


def test_the_sqlalchemy_path_is_locked_too(host: Path) -> None:
    env = host / "secrets/env.txt"
    got = read(
        [query("q", f"SELECT CAST(content AS TIMESTAMP) FROM read_text('{env}')")],
        settings(host, main=Warehouse(url="duckdb:///:memory:?enable_external_access=true")),
    )
    assert got["q"].error is not None and "disabled by configuration" in got["q"].error
    assert not leaks(got["q"].error)


def test_the_files_connection_reads_only_the_matched_files(host: Path) -> None:
    (host / "lake").mkdir()
    orders = host / "lake/orders.csv"
    orders.write_text("ts\n2026-11-27 10:00:00\n")
    con = connect_files([str(orders)])
    try:
        assert con.execute(f"SELECT max(ts) FROM read_csv('{orders}')").fetchone() is not None
        for sql in (
            f"SELECT * FROM read_text('{host}/secrets/env.txt')",
            f"SELECT * FROM glob('{host}/*')",
            "SET enable_external_access = true",
            "SET allowed_paths = ['/']",
        ):
            with pytest.raises(duckdb.Error) as info:
                con.execute(sql)
            assert not leaks(str(info.value))
    finally:
        con.close()


def test_a_files_contract_still_reads_values_inside_its_files(host: Path) -> None:
    (host / "lake").mkdir()
    (host / "lake/a.csv").write_text("ts\n2026-11-27 10:00:00\n")
    (host / "lake/b.csv").write_text("ts\n2026-11-27 11:00:00\n")
    [reading] = files.read_batch(
        [contract(FilesSource(glob="lake/*.csv", column="ts"))], ctx_for(host)
    )
    assert reading.error is None and reading.last_update is not None
    assert reading.last_update.hour == 11


def test_fresh_check_refuses_such_a_contract_naming_it_and_shows_no_content(host: Path) -> None:
    (host / "fresh.yml").write_text(
        "warehouses:\n  main:\n    url: duckdb:///warehouse.duckdb\n"
    )
    (host / "checks").mkdir()
    env = host / "secrets/env.txt"
    (host / "checks/c.yml").write_text(
        "contracts:\n"
        "  - name: ok\n    owner: ops\n    table: orders\n    column: loaded_at\n"
        "    error_after: 1h\n"
        "  - name: sneaky\n    owner: ops\n    error_after: 1h\n"
        f"    query: SELECT CAST(upper(content) AS TIMESTAMP) FROM read_text('{env}')\n"
        "  - name: sneaky_where\n    owner: ops\n    table: orders\n    column: loaded_at\n"
        f"    where: (SELECT to_base64(content) FROM read_blob('{env}')) <> ''\n"
        "    error_after: 1h\n"
    )
    fresh = Path(sys.executable).with_name("fresh")
    for args in (["check", "--format", "json"], ["validate"]):
        proc = subprocess.run(
            [str(fresh), *args], cwd=host, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2, proc
        assert "c.yml:10:12: query: must read only" in proc.stderr
        assert "read_text() reads files" in proc.stderr
        assert "(line 1, column 47)" in proc.stderr
        assert "read_blob() reads files" in proc.stderr
        assert not leaks(proc.stdout + proc.stderr)
