"""The state store on real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.core.errors import StoreError
from monitor.core.evaluate import next_check_at
from monitor.core.models import Contract, Expectation, HeartbeatSource, Status, Verdict
from monitor.store import Store, migrations, schema, states
from tests.integration.store_helpers import migrate_up_to

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TABLES = [
    "contract_state",
    "history",
    "pings",
    "transitions",
    "outbox",
    "silences",
    "leases",
    "replicas",
]


def contract(name: str, every: timedelta = timedelta(minutes=5)) -> Contract:
    return Contract(
        name=name,
        owner="ops",
        warehouse="main",
        source=HeartbeatSource(),
        expectation=Expectation(warn_after=timedelta(minutes=20), error_after=timedelta(hours=1)),
        check_every=every,
    )


def verdict(name: str, status: Status, at: datetime, **kw: object) -> Verdict:
    values: dict[str, object] = {
        "last_update": at - timedelta(minutes=10),
        "warn_at": at + timedelta(minutes=10),
        "error_at": at + timedelta(minutes=50),
        "description": f"{status} at {at:%H:%M}",
    }
    values.update(kw)
    return Verdict(contract=name, status=status, checked_at=at, **values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store: a SQLite file under tmp_path, or the module's PG database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url: str = request.getfixturevalue("pg_module_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # tests share the module's database: start empty
        for table in [*TABLES, "schema_version"]:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()
    yield url


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    with Store.open(store_url, tmp_path) as s:
        yield s


def test_opening_a_relative_sqlite_store_creates_its_folder_beside_the_config(
    tmp_path: Path,
) -> None:
    with Store.open("sqlite:///.fresh/state.db", tmp_path) as store:
        assert store.where == str(tmp_path / ".fresh" / "state.db")
        assert (tmp_path / ".fresh" / "state.db").exists()
        with store.read() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            names = set(sa.inspect(conn).get_table_names())
    assert mode == "wal"
    assert set(TABLES) | {"schema_version"} <= names


def test_every_table_exists_after_the_first_open(store: Store) -> None:
    with store.read() as conn:
        names = set(sa.inspect(conn).get_table_names())
    assert set(TABLES) <= names
    assert store.schema_version() == migrations.latest_version()


def test_migrations_run_once_and_a_reopen_applies_nothing(store_url: str, tmp_path: Path) -> None:
    with Store.open(store_url, tmp_path) as first:
        assert first.migrate() == []
    with Store.open(store_url, tmp_path) as second, second.read() as conn:
        versions = conn.execute(sa.select(schema.schema_version.c.version)).scalars().all()
    assert versions == list(range(1, migrations.latest_version() + 1))


def test_a_migration_appended_later_is_applied_to_an_existing_store(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store.open(store_url, tmp_path).close()
    seen: list[int] = []

    def add_column(conn: sa.Connection) -> None:
        seen.append(1)
        conn.execute(sa.text("ALTER TABLE replicas ADD COLUMN version VARCHAR(32)"))

    extra = migrations.Migration(
        migrations.latest_version() + 1, "test: replicas.version", add_column
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, extra])
    with Store.open(store_url, tmp_path) as store:
        assert store.schema_version() == extra.version
        with store.read() as conn:
            cols = {c["name"] for c in sa.inspect(conn).get_columns("replicas")}
    Store.open(store_url, tmp_path).close()
    assert "version" in cols
    assert seen == [1]


def test_a_failing_migration_leaves_the_store_as_it_was(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store.open(store_url, tmp_path).close()

    def half_done(conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("boom")

    extra = migrations.Migration(migrations.latest_version() + 1, "test: fails", half_done)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, extra])
    with pytest.raises(RuntimeError, match="boom"):
        Store.open(store_url, tmp_path)
    monkeypatch.undo()
    with Store.open(store_url, tmp_path) as store, store.read() as conn:
        assert not sa.inspect(conn).has_table("half_done")
        assert migrations.current_version(conn) == migrations.latest_version()


def test_a_store_written_by_a_newer_fresh_is_refused(store_url: str, tmp_path: Path) -> None:
    with Store.open(store_url, tmp_path) as store, store.write() as conn:
        conn.execute(
            schema.schema_version.insert().values(version=999, description="future", applied_at=T0)
        )
    with pytest.raises(StoreError, match="newer than this fresh"):
        Store.open(store_url, tmp_path)


def test_the_first_verdict_of_a_contract_is_a_status_change(store: Store) -> None:
    c = contract("orders")
    changes = store.save_verdicts([verdict("orders", Status.FRESH, T0)], {"orders": c}, T0)
    assert [(ch.contract, ch.previous, ch.status, ch.seq) for ch in changes] == [
        ("orders", None, Status.FRESH, 1)
    ]
    state = store.state("orders")
    assert state is not None
    assert state.status is Status.FRESH
    assert state.checked_at == T0 and state.checked_at.tzinfo is not None
    assert state.status_since == T0
    assert state.to_verdict() == verdict("orders", Status.FRESH, T0)


def test_a_change_of_status_is_reported_once_and_a_repeat_is_not(store: Store) -> None:
    cs = {"orders": contract("orders")}
    store.save_verdicts([verdict("orders", Status.FRESH, T0)], cs, T0)
    t1 = T0 + timedelta(minutes=5)
    assert store.save_verdicts([verdict("orders", Status.FRESH, t1)], cs, t1) == []
    t2 = T0 + timedelta(minutes=10)
    changes = store.save_verdicts([verdict("orders", Status.STALE, t2)], cs, t2)
    assert [(c.previous, c.status, c.seq, c.at) for c in changes] == [
        (Status.FRESH, Status.STALE, 2, t2)
    ]
    t3 = T0 + timedelta(minutes=15)
    assert store.save_verdicts([verdict("orders", Status.STALE, t3)], cs, t3) == []
    state = store.state("orders")
    assert state is not None and state.status_since == t2 and state.checked_at == t3


def test_two_stores_racing_the_same_change_record_it_once(store_url: str, tmp_path: Path) -> None:
    cs = {f"c{i:02d}": contract(f"c{i:02d}") for i in range(20)}
    with Store.open(store_url, tmp_path) as seed:
        seed.save_verdicts([verdict(n, Status.FRESH, T0) for n in cs], cs, T0)
    cs.update({f"new{i}": contract(f"new{i}") for i in range(5)})  # first saves race too
    racers = [Store.open(store_url, tmp_path) for _ in range(6)]
    t1 = T0 + timedelta(minutes=1)
    barrier = threading.Barrier(len(racers))
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def race(s: Store) -> None:
        try:
            barrier.wait()
            batch = [verdict(n, Status.STALE, t1) for n in cs]
            random.shuffle(batch)  # any order: replicas never see the same one
            changes = s.save_verdicts(batch, cs, t1)
            results.append([c.contract for c in changes])
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(s,)) for s in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in racers:
        s.close()
    assert errors == []
    recorded = sorted(n for r in results for n in r)
    assert recorded == sorted(cs)  # every change exactly once, across all racers


def test_a_writer_that_read_before_a_concurrent_change_loses_the_compare_and_set(
    store_url: str, tmp_path: Path
) -> None:
    cs = {"orders": contract("orders")}
    with Store.open(store_url, tmp_path) as a, Store.open(store_url, tmp_path) as b:
        a.save_verdicts([verdict("orders", Status.FRESH, T0)], cs, T0)
        with a.read() as conn:
            seen_by_a = conn.execute(sa.select(schema.contract_state)).one()
        t1 = T0 + timedelta(minutes=1)
        assert len(b.save_verdicts([verdict("orders", Status.STALE, t1)], cs, t1)) == 1
        with a.write() as conn:
            done, change = states._save_one(
                a,
                conn,
                seen_by_a,
                verdict("orders", Status.STALE, t1),
                timedelta(minutes=5),
                t1,
                [],
            )
        assert (done, change) == (False, None)
        # …and a normal save re-reads and finds nothing to change.
        assert a.save_verdicts([verdict("orders", Status.STALE, t1)], cs, t1) == []
        state = a.state("orders")
        assert state is not None and state.seq == 2


def test_an_older_verdict_arriving_late_does_not_overwrite_a_newer_one(store: Store) -> None:
    cs = {"orders": contract("orders")}
    store.save_verdicts([verdict("orders", Status.STALE, T0 + timedelta(minutes=5))], cs, T0)
    assert store.save_verdicts([verdict("orders", Status.FRESH, T0)], cs, T0) == []
    state = store.state("orders")
    assert state is not None and state.status is Status.STALE


def test_history_keeps_every_change_and_one_reading_per_check_every(store: Store) -> None:
    cs = {"orders": contract("orders", every=timedelta(minutes=5))}
    for minute in range(0, 30):
        at = T0 + timedelta(minutes=minute, seconds=-2 if minute % 5 == 0 else 0)
        status = Status.STALE if minute in (12, 13) else Status.FRESH
        store.save_verdicts([verdict("orders", status, at)], cs, at)
    kept = [(h.checked_at - T0, h.status) for h in reversed(store.history("orders", limit=100))]
    m = timedelta(minutes=1)
    s = timedelta(seconds=2)
    assert kept == [
        (0 * m - s, Status.FRESH),
        (5 * m - s, Status.FRESH),  # 2 s early still counts as the next interval
        (10 * m - s, Status.FRESH),
        (12 * m, Status.STALE),  # every change, whatever the interval
        (14 * m, Status.FRESH),
        (19 * m, Status.FRESH),
        (24 * m, Status.FRESH),
        (29 * m, Status.FRESH),
    ]
    assert [h.checked_at for h in store.history("orders", limit=2)] == [
        T0 + 29 * m,
        T0 + 24 * m,
    ]


def test_the_next_check_is_pulled_forward_to_a_deadline() -> None:
    every = timedelta(minutes=5)
    v = verdict("o", Status.FRESH, T0, warn_at=T0 + timedelta(minutes=2))
    assert next_check_at(v, every, T0) == T0 + timedelta(minutes=2)
    v = verdict("o", Status.WARN, T0, warn_at=T0 - timedelta(minutes=1), error_at=T0 + 4 * every)
    assert next_check_at(v, every, T0) == T0 + every


def test_prune_deletes_old_history_and_pings_but_keeps_the_newest_ping_of_each_kind(
    store: Store,
) -> None:
    cs = {"weekly": contract("weekly", every=timedelta(days=1))}
    for day in range(10):
        at = T0 + timedelta(days=day)
        store.save_verdicts([verdict("weekly", Status.FRESH, at)], cs, at)
    store.record_ping("weekly", "success", T0)
    store.record_ping("weekly", "success", T0 + timedelta(days=1))
    store.record_ping("weekly", "fail", T0 + timedelta(days=2), exit_code=1)
    store.record_ping("weekly", "success", T0 + timedelta(days=9))
    gone = store.prune(T0 + timedelta(days=5))
    assert gone == 5 + 2
    assert len(store.history("weekly", limit=100)) == 5
    assert [(p.kind, p.at) for p in store.pings("weekly")] == [
        ("success", T0 + timedelta(days=9)),
        ("fail", T0 + timedelta(days=2)),
    ]


def test_forget_drops_the_state_of_contracts_removed_from_the_config(store: Store) -> None:
    cs = {n: contract(n) for n in ("a", "b", "c")}
    store.save_verdicts([verdict(n, Status.FRESH, T0) for n in cs], cs, T0)
    assert store.forget({"a", "c"}) == ["b"]
    assert sorted(store.states()) == ["a", "c"]
    assert len(store.history("b")) == 1  # the past stays until pruned


def test_states_of_reads_only_the_named_contracts(store: Store) -> None:
    names = [f"c{i}" for i in range(1203)]  # more than one IN batch on SQLite
    cs = {n: contract(n) for n in names}
    store.save_verdicts([verdict(n, Status.FRESH, T0) for n in names], cs, T0)
    wanted = [*names[::2], "never-saved"]
    got = store.states_of(wanted)
    assert sorted(got) == sorted(names[::2])
    assert got["c4"] == store.states()["c4"]
    assert store.states_of([]) == {}


def test_verdicts_are_the_saved_states_verdicts_without_the_rest(store: Store) -> None:
    names = [f"c{i}" for i in range(1203)]  # more than one IN batch on SQLite
    cs = {n: contract(n) for n in names}
    kinds = [
        {},
        {"last_update": None, "warn_at": None, "error_at": None, "description": ""},
        {"error": "boom", "detail": "line 1", "duration_seconds": 0.25},
        {"learned_warn_after": timedelta(seconds=90.5), "learned_error_after": None},
        {"learned_warn_after": None, "learned_error_after": timedelta(hours=3)},
    ]
    saved = [
        verdict(n, list(Status)[i % 4], T0 + timedelta(microseconds=i), **kinds[i % len(kinds)])
        for i, n in enumerate(names)
    ]
    store.save_verdicts(saved, cs, T0)
    expected = {n: s.to_verdict() for n, s in store.states().items()}
    assert store.verdicts() == expected == {v.contract: v for v in saved}
    wanted = [*names[::3], "never-saved"]
    assert store.verdicts_of(wanted) == {n: expected[n] for n in names[::3]}
    assert store.verdicts_of([]) == {}


def test_a_second_exclusive_open_of_one_sqlite_file_is_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    with Store.open(f"sqlite:///{db}", tmp_path, exclusive=True):
        with pytest.raises(StoreError) as err:
            Store.open("sqlite:///state.db", tmp_path, exclusive=True)
        assert str(db) in str(err.value)
        # Another process is refused too (flock is per open file, not per process).
        probe = subprocess.run(
            [sys.executable, "-c", _EXCLUSIVE_PROBE, str(db)], capture_output=True, text=True
        )
        assert probe.returncode == 2, probe.stderr
        assert str(db) in probe.stdout
    Store.open(f"sqlite:///{db}", tmp_path, exclusive=True).close()  # released on close


_EXCLUSIVE_PROBE = """
import sys
from pathlib import Path
from monitor.core.errors import StoreError
from monitor.store import Store
try:
    Store.open("sqlite:///" + sys.argv[1], Path("."), exclusive=True)
except StoreError as exc:
    print(exc)
    sys.exit(2)
"""

_PING_WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from monitor.store import Store
with Store.open("sqlite:///" + sys.argv[1], Path(".")) as s:
    s.record_ping("job", "success", datetime.now(UTC))
print("ok")
"""


def test_a_short_writer_beside_an_exclusive_holder_waits_its_turn_and_succeeds(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    with Store.open(f"sqlite:///{db}", tmp_path, exclusive=True) as serve:
        with serve.write() as conn:  # serve is mid-write when the job pings
            conn.execute(schema.replicas.insert().values(id="r1", heartbeat_at=T0))
            writer = subprocess.Popen(
                [sys.executable, "-c", _PING_WRITER, str(db)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            with pytest.raises(subprocess.TimeoutExpired):
                writer.wait(0.5)  # it waits for the lock instead of failing
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == 0, err
        assert out.strip() == "ok"
        assert [p.kind for p in serve.pings("job")] == ["success"]


def test_an_unreachable_postgres_is_a_store_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://fresh:s3cret@127.0.0.1:1/state"
    with pytest.raises(StoreError) as err:
        Store.open(url, tmp_path)
    assert "s3cret" not in str(err.value)
    assert "127.0.0.1:1" in str(err.value)


def test_an_unknown_database_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"sqlite:///PATH or postgresql"):
        Store.open("mysql+pymysql://u:pw@h/db", tmp_path)


def test_the_store_answers_a_readiness_ping_and_a_dead_one_says_so(store: Store) -> None:
    store.ping()  # answers: no exception
    url = "postgresql+psycopg://u@127.0.0.1:1/x"  # nothing listens on port 1
    dead = Store(sa.create_engine(url, connect_args={"connect_timeout": 2}), "postgresql://127.0.0.1:1/x")
    with pytest.raises(StoreError, match=r"state store postgresql://127.0.0.1:1/x: "):
        dead.ping()
    dead.close()


def test_skip_locked_lets_two_claimers_on_postgres_take_different_rows(
    pg_module_url: str, tmp_path: Path
) -> None:
    store = Store.open(pg_module_url, tmp_path)
    with store.write() as conn:
        conn.execute(schema.leases.delete())
        for i in range(2):
            conn.execute(schema.leases.insert().values(contract=f"c{i}", holder="", expires_at=T0))
    query = store.skip_locked(sa.select(schema.leases.c.contract).order_by("contract").limit(1))
    with store.write() as first:
        a = first.execute(query).scalar()
        with store.write() as second:
            b = second.execute(query).scalar()
    store.close()
    assert (a, b) == ("c0", "c1")


def test_learned_updates_keep_one_per_5_minutes_and_prune_per_contract(tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", tmp_path) as store:
        added = store.add_learned({"a": [t0, t0 + 60, t0 + 299, t0 + 300], "b": [t0]})
        assert added == 3  # a: two buckets, b: one
        assert store.add_learned({"a": [t0 + 10]}) == 0  # that bucket is kept already
        since, until = datetime.fromtimestamp(t0 - 1, UTC), datetime.fromtimestamp(t0 + 999, UTC)
        assert store.learned_updates(["a", "b"], since, until) == {
            "a": [t0, t0 + 300], "b": [t0]
        }  # fmt: skip
        cutoff = datetime.fromtimestamp(t0 + 300, UTC)
        assert store.prune_learned({"a": cutoff, "b": cutoff - timedelta(days=1)}) == 1
        assert store.learned_updates(["a", "b"], since, until) == {"a": [t0 + 300], "b": [t0]}


def test_add_and_read_learned_merges_then_returns_each_window_from_one_read(
    tmp_path: Path,
) -> None:
    t0 = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
    at = lambda s: datetime.fromtimestamp(s, UTC)  # noqa: E731
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", tmp_path) as store:
        store.add_learned({"a": [t0, t0 + 600, t0 + 1200]})
        got = store.add_and_read_learned(
            {"a": [t0 + 1210, t0 + 1800], "b": [t0 + 5]},  # a's first shares a kept bucket
            {"b": at(t0 + 60)},
            {"a": at(t0 + 600), "b": at(t0), "c": at(t0)},  # c has nothing kept
            at(t0 + 1800),
        )
        assert {k: list(v) for k, v in got.items()} == {
            "a": [t0 + 600, t0 + 1200, t0 + 1800], "b": [t0 + 5], "c": []
        }  # fmt: skip
        assert store.learn_coverage(["a", "b"]) == {"b": at(t0 + 60)}
        # What was merged is what the store keeps.
        kept = store.learned_updates(["a"], at(t0 - 1), at(t0 + 9999))
        assert kept == {"a": [t0, t0 + 600, t0 + 1200, t0 + 1800]}


def test_migration_7_packs_the_learned_updates_of_migration_6(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        migrate_up_to(conn, 6)
        conn.execute(
            sa.text("INSERT INTO learned_updates (name, bucket, at) VALUES (:n, :b, :a)"),
            [{"n": "a", "b": 2, "a": 600.0}, {"n": "a", "b": 1, "a": 300.0}],
        )
    engine.dispose()
    with Store.open(url, tmp_path) as store:
        got = store.learned_updates(
            ["a"], datetime.fromtimestamp(0, UTC), datetime.fromtimestamp(999, UTC)
        )
        assert got == {"a": [300.0, 600.0]}
        assert store.schema_version() == migrations.latest_version()
