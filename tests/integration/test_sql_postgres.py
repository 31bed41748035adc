"""table+column and query sources on a real PostgreSQL (batched UNION ALL + fallback)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest

from monitor.config.settings import Warehouse
from monitor.core.models import Reading
from monitor.sources import explain_contract, read_contracts
from monitor.sources.sql.batching import BATCH as PG_BATCH
from tests.integration.sql_helpers import NOW, query, read, settings, table, utc


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def pg(pg_url: str) -> Iterator[str]:
    """A database `fresh_sql` with one table per column type; yields its SQLAlchemy URL."""
    with psycopg.connect(_dsn(pg_url), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS fresh_sql")
        c.execute("CREATE DATABASE fresh_sql")
    url = pg_url.rsplit("/", 1)[0] + "/fresh_sql"
    with psycopg.connect(_dsn(url), autocommit=True) as c:
        c.execute(
            """
            CREATE SCHEMA raw;
            CREATE TABLE raw.orders (id int, source text, loaded_at timestamp);
            INSERT INTO raw.orders VALUES
                (1, 'web', '2026-11-27 09:00:00.123456'), (2, 'pos', '2026-11-27 11:00:00');
            CREATE TABLE events (at timestamptz);
            INSERT INTO events VALUES ('2026-11-27 10:30:00+02'), ('2026-11-27 07:00:00Z');
            CREATE TABLE days (d date);
            INSERT INTO days VALUES ('2026-11-25'), ('2026-11-26');
            CREATE TABLE epochs (s bigint, ms bigint, frac numeric);
            INSERT INTO epochs VALUES
                (1782907200, 1782907200123, 1782907200.000001), (1700000000, 1700000000000, 1);
            CREATE TABLE texts (iso text, epoch_text varchar(20));
            INSERT INTO texts VALUES
                ('2026-07-01T12:00:00+05:00', '999'), ('2026-07-01T08:00:00Z', '1782907200');
            CREATE TABLE empty (at timestamptz);
            CREATE TABLE "Mixed Case" ("User" timestamp);
            INSERT INTO "Mixed Case" VALUES ('2026-01-02 03:04:05');
            CREATE TABLE guarded (id int);
            INSERT INTO guarded VALUES (1), (2);
            CREATE SEQUENCE seq;
            """
        )
    yield url


def wh(url: str, **kw: object) -> Warehouse:
    return Warehouse(url=url, **kw)  # type: ignore[arg-type]


ALL_TYPES = [
    table("ts", "raw.orders", "loaded_at"),
    table("tstz", "events", "at"),
    table("date", "days", "d"),
    table("epoch_s", "epochs", "s", column_format="epoch_s"),
    table("epoch_ms", "epochs", "ms", column_format="epoch_ms"),
    table("epoch_frac", "epochs", "frac", column_format="epoch_s"),
    table("iso", "texts", "iso"),
    table("epoch_text", "texts", "epoch_text", column_format="epoch_s"),
    table("mixed", '"Mixed Case"', "User"),
]
EXPECTED = {
    "ts": (None, utc(2026, 11, 27, 11)),
    "tstz": (None, utc(2026, 11, 27, 8, 30)),
    "date": (None, utc(2026, 11, 26)),
    "epoch_s": (None, utc(2026, 7, 1, 12)),
    "epoch_ms": (None, utc(2026, 7, 1, 12, 0, 0, 123000)),
    "epoch_frac": (None, utc(2026, 7, 1, 12, 0, 0, 1)),
    "iso": (None, utc(2026, 7, 1, 8)),  # as text, '…12:00+05:00' sorts last: exactness wins
    "epoch_text": (None, utc(2026, 7, 1, 12)),
    "mixed": (None, utc(2026, 1, 2, 3, 4, 5)),
}


def test_every_column_type_reads_as_aware_utc_in_one_batch(pg: str, tmp_path: Path) -> None:
    got = read(ALL_TYPES, settings(tmp_path, main=wh(pg)))
    assert {k: (r.error, r.last_update) for k, r in got.items()} == EXPECTED


def test_every_column_type_reads_the_same_one_by_one(pg: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=wh(pg))
    got = {c.name: read([c], s)[c.name] for c in ALL_TYPES}
    assert {k: (r.error, r.last_update) for k, r in got.items()} == EXPECTED


def test_naive_timestamps_are_read_in_the_warehouse_timezone(pg: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=wh(pg, timezone="Asia/Kolkata"))
    got = read(
        [
            table("ts", "raw.orders", "loaded_at"),
            table("tstz", "events", "at"),
            table("date", "days", "d"),
            query("q", "SELECT max(loaded_at)::timestamptz FROM raw.orders"),
        ],
        s,
    )
    assert got["ts"].last_update == utc(2026, 11, 27, 5, 30)  # 11:00 IST
    assert got["tstz"].last_update == utc(2026, 11, 27, 8, 30)
    assert got["date"].last_update == utc(2026, 11, 25, 18, 30)
    assert got["q"].last_update == utc(2026, 11, 27, 5, 30)  # session TimeZone = warehouse


def test_where_and_query(pg: str, tmp_path: Path) -> None:
    s = settings(tmp_path, main=wh(pg))
    got = read(
        [
            table("web", "raw.orders", "loaded_at", where="source = 'web'"),
            table("like", "raw.orders", "loaded_at", where="source LIKE 'p%'"),
            query("q", "SELECT max(loaded_at) FROM raw.orders WHERE source LIKE 'w%';"),
            query("empty", "SELECT max(at) FROM empty"),
        ],
        s,
    )
    assert got["web"].last_update == utc(2026, 11, 27, 9, 0, 0, 123456)
    assert got["like"].last_update == utc(2026, 11, 27, 11)
    assert got["q"].last_update == utc(2026, 11, 27, 9, 0, 0, 123456)
    assert (got["empty"].last_update, got["empty"].error) == (None, None)


def test_an_empty_table_is_no_data(pg: str, tmp_path: Path) -> None:
    got = read(
        [table("e", "empty", "at"), table("ok", "days", "d")], settings(tmp_path, main=wh(pg))
    )
    assert (got["e"].last_update, got["e"].error) == (None, None)


def test_a_broken_contract_fails_alone_while_its_batch_succeeds(pg: str, tmp_path: Path) -> None:
    good = [table(f"ok{i}", "raw.orders", "loaded_at") for i in range(PG_BATCH + 5)]
    broken = [
        table("no_table", "raw.nope", "loaded_at"),
        table("no_column", "raw.orders", "nope"),
        table("not_a_time", "guarded", "id"),
    ]
    got = read([*good[:50], *broken, *good[50:]], settings(tmp_path, main=wh(pg)))
    assert all(got[c.name].last_update == utc(2026, 11, 27, 11) for c in good)
    assert got["no_table"].error is not None and "raw.nope" in got["no_table"].error
    assert got["no_column"].error is not None and "nope" in got["no_column"].error
    assert got["not_a_time"].error is not None and "column_format" in got["not_a_time"].error


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM guarded RETURNING now()",
        "WITH d AS (DELETE FROM guarded RETURNING 1) SELECT now() FROM d",
        "SELECT now(); DELETE FROM guarded",
        "SELECT now() FROM (SELECT nextval('seq')) s",
        "INSERT INTO guarded VALUES (3) RETURNING now()",
    ],
)
def test_a_query_that_writes_is_refused_at_run_time(pg: str, tmp_path: Path, sql: str) -> None:
    got = read([query("w", sql)], settings(tmp_path, main=wh(pg)))
    assert got["w"].error is not None
    with psycopg.connect(_dsn(pg)) as c:
        assert c.execute("SELECT count(*) FROM guarded").fetchone() == (2,)
        assert c.execute("SELECT last_value, is_called FROM seq").fetchone() == (1, False)


def test_a_slow_query_times_out_while_a_duckdb_warehouse_finishes_promptly(
    pg: str, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT TIMESTAMP '2026-11-27 10:00:00' AS at")
    con.close()
    s = settings(
        tmp_path,
        pg=wh(pg, timeout=timedelta(seconds=1)),
        duck=Warehouse(url=f"duckdb:///{path}"),
    )
    arrived: dict[str, float] = {}
    t0 = time.monotonic()

    def on_read(reading: Reading) -> None:
        arrived[reading.contract] = time.monotonic() - t0

    got = read_contracts(
        [
            query("slow", "SELECT now() FROM pg_sleep(20)", warehouse="pg"),
            table("pg_fast", "events", "at", warehouse="pg"),
            table("duck", "t", "at", warehouse="duck"),
        ],
        s,
        NOW,
        on_read=on_read,
    )
    elapsed = time.monotonic() - t0
    assert got["slow"].error is not None and "timed out" in got["slow"].error
    assert got["pg_fast"].last_update == utc(2026, 11, 27, 8, 30)
    assert got["duck"].last_update == utc(2026, 11, 27, 10)
    assert arrived["duck"] < arrived["slow"]
    assert arrived["duck"] < 0.9  # well before the PostgreSQL timeout (1 s)
    assert 0.9 <= elapsed < 8


def test_secrets_never_appear_in_error_text(pg: str, tmp_path: Path) -> None:
    secret = "Sup3rS3cretPW"
    host_port = pg.split("@", 1)[1].split("/", 1)[0]
    bad_db = f"postgresql+psycopg://postgres:{secret}@{host_port}/no_such_db"
    port = int(host_port.rsplit(":", 1)[1])
    closed = f"postgresql+psycopg://postgres:{secret}@127.0.0.1:{port + 1}/x"
    s = settings(
        tmp_path,
        a=Warehouse(url=bad_db, timeout=timedelta(seconds=3)),
        b=Warehouse(url=closed, timeout=timedelta(seconds=3)),
    )
    got = read([table("a", "t", "c", warehouse="a"), table("b", "t", "c", warehouse="b")], s)
    for reading in got.values():
        assert reading.error is not None
        assert secret not in reading.error
    assert "no_such_db" in (got["a"].error or "")
    explained = explain_contract(table("a", "t", "c", warehouse="a"), s)
    assert secret not in explained and "***" in explained


def test_explain_shows_postgres_quoting(pg: str, tmp_path: Path) -> None:
    text = explain_contract(table("m", '"Mixed Case"', "User"), settings(tmp_path, main=wh(pg)))
    assert 'SELECT max("User") FROM "Mixed Case"' in text
