"""On real PostgreSQL, MariaDB and SQLite, fresh refuses SQL that reaches the server's host.

The suite's servers connect as superusers (PostgreSQL `postgres`, MariaDB `root`), the worst
case: the role would let `pg_read_file` and `LOAD_FILE` read files. Contracts are built in
code, so config validation is bypassed and only the run-time fences are at work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from monitor.config.settings import Warehouse
from monitor.sources.sql.alchemy import dispose_engines
from tests.integration.sql_helpers import query, read, settings, table

# Text of the data directory (its listing, postgresql.conf's first line): seen in an error,
# the server's files have leaked.
PG_LEAKS = ("PG_VERSION", "pg_wal", "# -----", "max_connections")


@pytest.fixture(autouse=True)
def _fresh_engines() -> Iterator[None]:
    yield
    dispose_engines()


@pytest.fixture(scope="module")
def pg(pg_module_url: str) -> str:
    dsn = pg_module_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("CREATE TABLE orders (loaded_at timestamptz)")
        c.execute("INSERT INTO orders VALUES ('2026-11-27 10:00:00Z')")
        is_super = c.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert is_super.fetchone() == (True,)  # the worst case: a superuser connection
    return pg_module_url


PG_PROBES = {
    "pg_read_file": "SELECT CAST(pg_read_file('postgresql.conf') AS timestamptz)",
    "pg_read_binary_file": (
        "SELECT CAST(encode(pg_read_binary_file('postgresql.conf'), 'escape') AS timestamptz)"
    ),
    "pg_ls_dir": "SELECT CAST(string_agg(f, ',') AS timestamptz) FROM pg_ls_dir('.') AS f",
    "pg_stat_file": "SELECT (pg_stat_file('postgresql.conf')).modification",
    "lo_import": "SELECT CAST(lo_import('/etc/hostname')::text AS timestamptz)",
    "file_settings": "SELECT CAST(max(sourcefile) AS timestamptz) FROM pg_file_settings",
    "set_config": "SELECT CAST(set_config('statement_timeout', '0', false) AS timestamptz)",
    "authid": "SELECT CAST(max(rolname || rolpassword) AS timestamptz) FROM pg_authid",
}


def test_postgres_superuser_still_cannot_read_files_through_fresh(pg: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=Warehouse(url=pg))
    got = read([query(name, sql) for name, sql in PG_PROBES.items()], s)
    where = read(
        [table("w", "orders", "loaded_at", where="pg_read_file('postgresql.conf') <> ''")], s
    )
    for name, reading in {**got, **where}.items():
        assert reading.error is not None and "refused" in reading.error, (name, reading)
        assert not any(w in reading.error for w in PG_LEAKS), (name, reading.error)


def test_without_the_fence_the_superuser_would_have_leaked_the_file(
    pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shows the probe above is a real one: a read-only session does not stop it.
    monkeypatch.setattr("monitor.sources.sql.shared.host_reach", lambda sql, dialect="": None)
    probes = [query(name, PG_PROBES[name]) for name in ("pg_read_file", "pg_ls_dir")]
    got = read(probes, settings(tmp_path, main=Warehouse(url=pg)))
    for reading in got.values():
        assert reading.error is not None
        assert any(w in reading.error for w in PG_LEAKS), reading.error


def test_a_read_only_session_alone_does_not_stop_lo_import(
    pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL 15 imports a server file into a large object even in a read-only
    # transaction: only the text fence and the role's privileges stop it (README, Security).
    monkeypatch.setattr("monitor.sources.sql.shared.host_reach", lambda sql, dialect="": None)
    got = read([query("q", PG_PROBES["lo_import"])], settings(tmp_path, main=Warehouse(url=pg)))
    assert got["q"].error is not None and "read-only" not in got["q"].error
    assert "invalid input syntax for type timestamp" in got["q"].error  # the oid came back


def test_mariadb_root_cannot_load_file_through_fresh(mariadb_url: str, tmp_path: Path) -> None:
    url = mariadb_url.rsplit("/", 1)[0] + "/mysql"
    s = settings(tmp_path, main=Warehouse(url=url))
    got = read(
        [
            query("q", "SELECT CAST(LOAD_FILE('/etc/passwd') AS DATETIME)"),
            query("c", "SELECT max(x) FROM (SELECT 1 AS x /*!00000 , LOAD_FILE('/x') */) t"),
            table("w", "user", "password_expired", where="LOAD_FILE('/etc/passwd') IS NULL"),
        ],
        s,
    )
    for name, reading in got.items():
        assert reading.error is not None and "refused" in reading.error, (name, reading)
        assert "root:" not in reading.error


def test_mariadb_refuses_into_outfile_inside_fresh_s_subquery(
    mariadb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    url = mariadb_url.rsplit("/", 1)[0] + "/mysql"
    got = read(
        [query("q", f"SELECT now() INTO OUTFILE '{target}'")],
        settings(tmp_path, main=Warehouse(url=url)),
    )
    assert got["q"].error is not None
    assert not target.exists()


def test_sqlite_cannot_load_extensions_or_attach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE orders (loaded_at TEXT)")
    con.execute("INSERT INTO orders VALUES ('2026-11-27T10:00:00Z')")
    con.commit()
    con.close()
    monkeypatch.setattr("monitor.sources.sql.shared.host_reach", lambda sql, dialect="": None)
    got = read(
        [
            query("ext", "SELECT load_extension('/nonexistent/evil.so')"),
            query("attach", f"ATTACH DATABASE '{tmp_path}/other.db' AS o"),
        ],
        settings(tmp_path, main=Warehouse(url="sqlite:///w.sqlite")),
    )
    assert got["ext"].error is not None and "not authorized" in got["ext"].error
    assert got["attach"].error is not None
    assert not (tmp_path / "other.db").exists()
