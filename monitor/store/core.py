"""Opening the state store: engines, transactions, the single-serve lock, dialect helpers.

SQLite (the embedded default) runs in WAL mode with a busy timeout, so `fresh ping`, `fresh
run` and `fresh silence` can write beside a running `fresh serve`; write transactions start
with `BEGIN IMMEDIATE`, so two writers queue instead of failing half-way. `exclusive=True`
(`fresh serve`) also holds an OS lock on `<db>.lock` for the life of the Store: a second
serve on the same file is refused. PostgreSQL allows many replicas: every deciding write is
compare-and-set or row-locked, and nothing is cached in the process.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from monitor.core.errors import StoreError
from monitor.store import migrations

if TYPE_CHECKING:
    from monitor.config.settings import Settings

S = TypeVar("S", bound=sa.Select[Any])

BUSY_TIMEOUT_MS = 15_000  # how long a SQLite writer waits for another one


class Database:
    """The connection to the state store: opening, transactions, dialect helpers. The API
    the rest of fresh uses is its subclass `monitor.store.api.Store`."""

    def __init__(self, engine: Engine, where: str, lock_fd: int | None = None) -> None:
        self.engine = engine
        self.where = where  # the store, for messages: a file path or a masked URL
        self._lock_fd = lock_fd

    # --- opening and closing -------------------------------------------------------------

    @classmethod
    def open(cls, url: str, base_dir: Path, *, exclusive: bool = False) -> Self:
        """Open (and migrate) the store at `url`; relative SQLite paths are read from
        `base_dir`. `exclusive` (fresh serve) refuses a second holder of a SQLite file."""
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise StoreError(f"state.url {url!r} is not a database URL") from None
        backend = parsed.get_backend_name()
        lock_fd: int | None = None
        if backend == "sqlite":
            engine, where, db_path = _sqlite_engine(parsed, base_dir)
            if exclusive and db_path is not None:
                lock_fd = _take_lock(db_path)
        elif backend == "postgresql":
            if parsed.drivername == "postgresql":  # plain URL: use the driver we ship
                parsed = parsed.set(drivername="postgresql+psycopg")
            where = parsed.render_as_string(hide_password=True)
            engine = sa.create_engine(
                parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10}
            )
        else:
            raise StoreError(
                f"state.url must be sqlite:///PATH or postgresql+psycopg://…, "
                f"not {parsed.render_as_string(hide_password=True)}"
            )
        store = cls(engine, where, lock_fd)
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def from_settings(cls, settings: Settings, *, exclusive: bool = False) -> Self:
        """Open the store `fresh.yml` names (`state.url`, relative to its folder)."""
        return cls.open(settings.state.url, settings.base_dir, exclusive=exclusive)

    def close(self) -> None:
        """Release connections and the serve lock."""
        self.engine.dispose()
        if self._lock_fd is not None:
            with suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[int]:
        """Bring the schema to this code's version; returns the versions applied."""
        with self.read() as conn:
            if migrations.current_version(conn) == migrations.latest_version():
                return []
        with self.write() as conn:
            return migrations.upgrade(conn, self.where)

    def schema_version(self) -> int:
        """The store's schema version."""
        with self.read() as conn:
            return migrations.current_version(conn)

    # --- transactions ----------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE, so writers queue up front)."""
        with self._errors(), self.engine.connect() as conn:
            conn.execution_options(fresh_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (one consistent snapshot on both dialects)."""
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        # Operational failures (server down, lock timeout) become StoreError with the store
        # named and no password; programming errors stay loud.
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise StoreError(f"state store {self.where}: {reason}") from None

    def ping(self) -> None:
        """Raise StoreError unless the store answers (for /readyz)."""
        with self.read() as conn:
            conn.execute(sa.text("SELECT 1"))

    # --- dialect helpers for feature modules -------------------------------------------------

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL (many replicas); False on SQLite (one serve)."""
        return self.dialect == "postgresql"

    def skip_locked(self, stmt: S) -> S:
        """`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas claiming work (outbox
        rows, leases) never wait for or take each other's rows. On SQLite the write
        transaction already excludes every other writer, so the statement is unchanged."""
        if self.is_postgres:
            return stmt.with_for_update(skip_locked=True)
        return stmt

    def for_update(self, stmt: S) -> S:
        """`SELECT … FOR UPDATE` on PostgreSQL (waits for the row); unchanged on SQLite."""
        if self.is_postgres:
            return stmt.with_for_update()
        return stmt

    def insert(self, table: sa.Table) -> pg_dialect.Insert | sqlite_dialect.Insert:
        """An INSERT with `.on_conflict_do_nothing()` / `.on_conflict_do_update()` (same
        spelling on both dialects)."""
        if self.is_postgres:
            return pg_dialect.insert(table)
        return sqlite_dialect.insert(table)


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Slices of `items` small enough for one `IN (...)` on every dialect."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _sqlite_engine(parsed: sa.URL, base_dir: Path) -> tuple[Engine, str, Path | None]:
    database = parsed.database or ""
    if database in ("", ":memory:"):
        engine = sa.create_engine(
            "sqlite://",
            poolclass=sa.pool.StaticPool,
            connect_args={"check_same_thread": False},
        )
        _configure_sqlite(engine, wal=False)
        return engine, "sqlite (in memory)", None
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    path = path.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder of state store {path}: {exc}") from None
    engine = sa.create_engine(sa.URL.create("sqlite", database=str(path)))
    _configure_sqlite(engine, wal=True)
    return engine, str(path), path


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below control transactions, not the driver's guesswork.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if wal:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads, then writes, can fail at once with "database
        # is locked" (no busy wait on upgrade); writers take the lock up front instead.
        write = conn.get_execution_options().get("fresh_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _take_lock(db_path: Path) -> int:
    lock_path = db_path.with_name(db_path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open lock file {lock_path}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreError(
            f"state store {db_path} is already used by another `fresh serve` "
            f"(lock {lock_path.name} is held); a SQLite store serves one replica: "
            "stop the other one, or use PostgreSQL for several"
        ) from None
    with suppress(OSError):  # who holds it, for a human looking at the file
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd
