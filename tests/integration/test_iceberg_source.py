"""`iceberg:` contracts against a pyiceberg SQL catalog on SQLite with a local warehouse."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config.settings import Settings
from monitor.config.settings_schema import validate_settings
from monitor.core.models import Contract, Expectation, IcebergSource, Reading
from monitor.sources import read_contracts
from monitor.sources.base import ReadContext
from monitor.sources.lake import iceberg
from tests.integration.cli_project import clean_env, fresh

pyiceberg_catalog = pytest.importorskip(
    "pyiceberg.catalog", reason="SKIPPED LOUDLY: pyiceberg not installed"
)
pa = pytest.importorskip("pyarrow")


def sql_catalog(root: Path) -> dict[str, Any]:
    (root / "warehouse").mkdir(exist_ok=True)
    return {
        "type": "sql",
        "uri": f"sqlite:///{root}/catalog.db",
        "warehouse": f"file://{root}/warehouse",
    }


def contract(table: str, catalog: str = "local", name: str = "c") -> Contract:
    return Contract(
        name=name,
        owner="ops",
        warehouse="lake",
        source=IcebergSource(table=table, catalog=catalog),
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


def ctx(root: Path, as_of: datetime | None = None, **catalogs: dict[str, Any]) -> ReadContext:
    settings = Settings(base_dir=root, catalogs=validate_settings({"catalogs": catalogs}).catalogs)
    return ReadContext(settings=settings, now=datetime.now(UTC), as_of=as_of)


def read(root: Path, table: str, as_of: datetime | None = None) -> Reading:
    [reading] = iceberg.read_batch([contract(table)], ctx(root, as_of, local=sql_catalog(root)))
    return reading


def rows(*ids: int) -> Any:
    return pa.table({"id": pa.array(ids, pa.int64())})


def newest(table: Any) -> tuple[int, datetime, str]:
    table.refresh()
    snap = table.current_snapshot()
    return (
        snap.snapshot_id,
        datetime.fromtimestamp(snap.timestamp_ms / 1000, UTC),
        snap.summary.operation.value,
    )


def test_appends_overwrites_and_deletes_move_it_metadata_changes_do_not(tmp_path: Path) -> None:
    cat = pyiceberg_catalog.load_catalog("local", **sql_catalog(tmp_path))
    cat.create_namespace("sales")
    table = cat.create_table("sales.orders", schema=rows(1).schema)
    empty = read(tmp_path, "sales.orders")
    assert (empty.error, empty.last_update, empty.detail) == (
        None,
        None,
        "the table has no snapshot",
    )
    ops = []
    for step in ("append", "overwrite", "append2", "delete", "delete_rows"):
        if step.startswith("append"):
            table.append(rows(1, 2))
        elif step == "overwrite":
            table.overwrite(rows(5))
        elif step == "delete":
            table.delete("id = 5")  # a whole file: a `delete` snapshot
        else:
            table.delete("id = 1")  # rows inside a file: rewritten, an `overwrite` snapshot
        snap_id, at, op = newest(table)
        reading = read(tmp_path, "sales.orders")
        assert reading.error is None, reading.error
        assert (reading.last_update, reading.detail) == (at, f"Iceberg snapshot {snap_id}: {op}")
        ops.append(op)
    # pyiceberg's overwrite of a table is a delete then an append snapshot.
    assert ops == ["append", "append", "append", "delete", "overwrite"]
    before = newest(table)
    with table.transaction() as tx:
        tx.set_properties(owner="ops")
    from pyiceberg.types import StringType

    with table.update_schema() as schema:
        schema.add_column("note", StringType())
    assert newest(table) == before  # neither made a snapshot
    assert table.properties["owner"] == "ops" and "note" in table.schema().column_names
    reading = read(tmp_path, "sales.orders")
    assert (reading.last_update, reading.detail) == (
        before[1],
        f"Iceberg snapshot {before[0]}: overwrite",
    )
    # `--at T` at the whole-file delete: that one, not the overwrite after it.
    ancestry = list(table.snapshots())
    second_last = sorted(ancestry, key=lambda s: s.timestamp_ms)[-2]
    at = datetime.fromtimestamp(second_last.timestamp_ms / 1000, UTC)
    past = read(tmp_path, "sales.orders", as_of=at)
    assert past.last_update == at
    assert past.detail == f"Iceberg snapshot {second_last.snapshot_id}: delete"


def test_replace_snapshots_never_count() -> None:
    """pyiceberg 0.12 cannot write a `replace` snapshot: the rule, on snapshot summaries."""
    s = iceberg.Snapshot
    ancestry = [
        s(4, 4000, "replace"),
        s(3, 3000, None),
        s(2, 2000, "overwrite"),
        s(1, 1000, "append"),
    ]
    assert iceberg.newest_data_snapshot(ancestry) == s(2, 2000, "overwrite")
    as_of = datetime.fromtimestamp(1.5, UTC)
    assert iceberg.newest_data_snapshot(ancestry, as_of) == s(1, 1000, "append")
    only = iceberg.reading_for("c", [s(9, 9000, "replace")], None)
    assert (only.last_update, only.detail) == (None, "no snapshot of the 1 kept changed data")
    deleted = iceberg.reading_for("c", [s(5, 5000, "replace"), s(4, 4000, "delete")], None)
    assert deleted.last_update == datetime.fromtimestamp(4, UTC)
    assert deleted.detail == "Iceberg snapshot 4: delete"


def test_a_missing_table_or_namespace_is_an_error_naming_it(tmp_path: Path) -> None:
    cat = pyiceberg_catalog.load_catalog("local", **sql_catalog(tmp_path))
    cat.create_namespace("sales")
    assert read(tmp_path, "sales.nope").error == "no Iceberg table sales.nope in catalog 'local'"
    assert read(tmp_path, "nope.t").error == "no Iceberg table nope.t in catalog 'local'"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung catalog)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    sock.close()


def test_an_unreachable_catalog_is_an_error_within_its_timeout(
    tmp_path: Path, silent_server: int
) -> None:
    hung = {"type": "rest", "uri": f"http://127.0.0.1:{silent_server}", "timeout": "2s"}
    local = sql_catalog(tmp_path)
    cat = pyiceberg_catalog.load_catalog("local", **local)
    cat.create_namespace("s")
    cat.create_table("s.t", schema=rows(1).schema).append(rows(1))
    contracts = [contract("s.t", "hung", "a"), contract("s.t", "local", "b")]
    c = ctx(tmp_path, hung=hung, local=local)
    started = time.monotonic()
    got = read_contracts(contracts, c.settings, c.now)
    took = time.monotonic() - started
    assert got["a"].error == "catalog 'hung' did not answer within 2s"
    assert got["b"].error is None and got["b"].last_update is not None  # never held up
    assert 1.5 < took < 15, took


def test_fresh_check_reads_catalogs_from_fresh_yml_with_secrets_masked(
    tmp_path: Path,
) -> None:
    local = sql_catalog(tmp_path)
    cat = pyiceberg_catalog.load_catalog("local", **local)
    cat.create_namespace("sales")
    cat.create_table("sales.orders", schema=rows(1).schema).append(rows(1))
    (tmp_path / "checks").mkdir()
    (tmp_path / "fresh.yml").write_text(
        "catalogs:\n"
        f"  local: {{type: sql, uri: '{local['uri']}', warehouse: '{local['warehouse']}'}}\n"
        "  remote:\n    type: rest\n    uri: http://127.0.0.1:9\n"
        "    credential: ${ICEBERG_CREDENTIAL}\n    timeout: 5s\n"
    )
    (tmp_path / "checks" / "lake.yml").write_text(
        "defaults: {owner: ops, error_after: 1h}\n"
        "contracts:\n"
        "  - {name: orders, iceberg: sales.orders, catalog: local}\n"
        "  - {name: gone, iceberg: sales.gone, catalog: local}\n"
        "  - {name: far, iceberg: sales.orders, catalog: remote}\n"
    )
    secret = "client:s3cr3t-value"
    env = clean_env(ICEBERG_CREDENTIAL=secret)
    result = fresh("check", "--format", "json", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr
    out = {r["contract"]: r for r in json.loads(result.stdout)["results"]}
    assert out["orders"]["status"] == "fresh" and out["orders"]["warehouse"] == "lake"
    assert out["orders"]["detail"].startswith("Iceberg snapshot ")
    assert out["gone"]["error"] == "no Iceberg table sales.gone in catalog 'local'"
    assert out["far"]["status"] == "error" and "remote" in out["far"]["error"]
    explained = fresh("explain", "orders", cwd=tmp_path, env=env)
    assert "Iceberg table sales.orders from catalog 'local' (sql" in explained.stdout


def test_the_catalog_s_timeout_rules_the_watchdog(tmp_path: Path) -> None:
    c = ctx(tmp_path, slow={"type": "rest", "uri": "http://x", "timeout": "90s"})
    from monitor.sources.registry import kind_of

    assert kind_of(contract("a.b", "slow")).timeout(contract("a.b", "slow"), c.settings) == 90.0
    assert replace(c).settings.catalogs["slow"].properties() == {"type": "rest", "uri": "http://x"}
