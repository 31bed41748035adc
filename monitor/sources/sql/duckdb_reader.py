"""DuckDB files read through DuckDB's compiled module directly: the fast path.

No SQLAlchemy and no sqlglot are imported here (together ~350 ms, more than reading a
thousand tables takes), nor the duckdb package around the compiled module (~50 ms:
monitor.sources.duck_guard.engine). The file is opened read-only once per batch and closed
right after, so the user's loader can take its write lock between reads (external access
off, no extensions, configuration locked: monitor.sources.duck_guard; `fresh check` opens it
while the contracts are parsed and closes it while it reports: duckdb_handles.py); while a
writer holds it, the open is retried until the warehouse `timeout`, then reported with
DuckDB's reason. Table reads go in UNION ALL chunks of CHUNK max() reads (measured fastest,
see below), spread over up to two cursors on their own threads (DuckDB releases the GIL);
a chunk that fails is read again one contract at a time, so only the broken contract gets
`error`.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading, TableSource
from monitor.sources import cost
from monitor.sources.base import ReadContext, describe, error_reading
from monitor.sources.duck_guard import connect_warehouse, engine
from monitor.sources.sql import duckdb_handles
from monitor.sources.sql.shared import (
    duck_quote,
    max_select,
    reading_from_rows,
    statement,
    table_parts,
)

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

# Table reads go in UNION ALL chunks of this size: in-process, 1,000 max() reads take
# ~70 ms in chunks of 25-50 against ~250 ms as separate queries (one 1,000-way UNION ALL
# is slower again: bench/bench_sql_batching.py).
CHUNK = 32
_MAX_THREADS = 2  # two cursors keep both cores of a small machine busy
_TIME_TYPES = ("TIMESTAMP", "DATE")  # TIMESTAMP, TIMESTAMP WITH TIME ZONE, TIMESTAMP_NS…, DATE
_EXACT_NUMBERS = (int, Decimal)

# A contract, the SQL that reads it alone, and for a table read its quoted column and
# ` FROM …` part (quoted once, for the chunk's UNION ALL too); "" for a query.
Item = tuple[Contract, str, str, str]
Task = list[Item]


def read_batch(path: str, contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per contract, from the DuckDB file at `path`."""
    wh = ctx.warehouse_config
    started = time.monotonic()
    readings: list[Reading] = []
    singles: list[Task] = []
    by_format: dict[bool, Task] = {True: [], False: []}
    for contract in contracts:
        src = contract.source
        try:
            if isinstance(src, TableSource) and src.column is not None:
                column, tail = table_parts(src, duck_quote, "duckdb")
                # Numbers and timestamps cannot share a UNION ALL column: chunk them apart.
                by_format[src.column_format is not None].append(
                    (contract, max_select(column, tail), column, tail)
                )
            else:
                singles.append(
                    [(contract, statement(contract, duck_quote, dialect="duckdb"), "", "")]
                )
        except SourceError as exc:
            readings.append(error_reading(contract, str(exc)))
    tasks = [t[i : i + CHUNK] for t in by_format.values() for i in range(0, len(t), CHUNK)]
    tasks += singles
    if not tasks:
        return readings
    try:
        con = _open(path, started + ctx.timeout, ctx.timeout)
    except SourceError as exc:
        elapsed = time.monotonic() - started
        return readings + [error_reading(i[0], str(exc), elapsed) for t in tasks for i in t]
    try:
        todo: queue.SimpleQueue[Task] = queue.SimpleQueue()
        for task in tasks:
            todo.put(task)
        n = max(1, min(_MAX_THREADS, os.cpu_count() or 1, wh.max_connections, len(tasks)))
        workers = [_Worker(con.cursor(), todo, wh.timezone, ctx) for _ in range(n)]
        for w in workers:
            w.start()
        _supervise(workers, ctx.timeout)
        for w in workers:
            readings.extend(w.readings)
    finally:
        duckdb_handles.release(con)  # behind our back in a one-shot command
    return readings


def _open(path: str, deadline: float, timeout: float) -> DuckDBPyConnection:
    duckdb = engine()  # the compiled module alone (duck_guard.engine)
    if not os.path.exists(path):
        raise SourceError(f"DuckDB file {path} does not exist")
    warmed = duckdb_handles.take(path)  # opened while the contracts were parsed
    if warmed is not None:
        return warmed
    delay = 0.01
    while True:
        try:
            return connect_warehouse(path)  # read-only, no host access, locked
        except duckdb.Error as exc:
            why = describe(exc)
            busy = "lock" in why.lower() or "different configuration" in why
            if not busy:
                raise SourceError(f"cannot open DuckDB file {path}: {why}") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise SourceError(
                    f"DuckDB file {path} stayed locked by a writer for {timeout:g}s: {why}"
                ) from None
        time.sleep(min(delay, left))  # a loader's write lock: wait for it, up to the timeout
        delay = min(delay * 2, 0.25)


class _Worker(threading.Thread):
    """Takes tasks (a chunk, or one query) off `todo` and runs them on its own cursor."""

    def __init__(
        self,
        cursor: DuckDBPyConnection,
        todo: queue.SimpleQueue[Task],
        tz: str,
        ctx: ReadContext,
    ) -> None:
        super().__init__(daemon=True, name="fresh-duckdb")
        self.cursor = cursor
        self.todo = todo
        self.tz = tz
        self.ctx = ctx
        self.tag = cost.tag_comment(ctx.warehouse_config.query_tag)
        self.readings: list[Reading] = []
        self.unsent: list[Reading] = []
        self.started: float | None = None  # when the running statement started
        self.interrupted = False

    def run(self) -> None:
        duckdb = engine()
        try:
            # Naive values (and DATEs) are read in the warehouse's zone; TIMESTAMPTZ values
            # come back in it, and ISO text cast to TIMESTAMPTZ is read in it.
            cost.count(self.ctx.warehouse)
            self.cursor.execute(f"SET TimeZone = '{self.tz.replace(chr(39), '')}'")
        except duckdb.Error as exc:
            why = f"timezone {self.tz}: {describe(exc)}"
            for task in self._drain():
                for contract, *_ in task:
                    self._done(error_reading(contract, why))
            self._flush()
            return
        for task in self._drain():
            try:
                if len(task) > 1 and self._chunk(task):
                    continue
                for contract, sql, *_ in task:
                    self._one(contract, sql)
            except Exception as exc:  # a bug must cost its task, never the other tasks
                done = {r.contract for r in self.readings}
                for contract, *_ in task:
                    if contract.name not in done:
                        self._done(error_reading(contract, describe(exc)))
            finally:
                self._flush()
        self.cursor.close()

    def _drain(self) -> Iterator[Task]:
        while True:
            try:
                yield self.todo.get_nowait()
            except queue.Empty:
                return

    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        return self._execute_typed(sql)[0]

    def _execute_typed(self, sql: str) -> tuple[list[tuple[Any, ...]], list[str]]:
        """The rows of `sql` and the type of each result column (counted and tagged)."""
        self.started = time.monotonic()
        cost.count(self.ctx.warehouse)
        try:
            cursor = self.cursor.execute(self.tag + sql)
            types = [str(d[1]) for d in cursor.description or ()]
            return cursor.fetchall(), types
        finally:
            self.started = None

    def _chunk(self, task: Task) -> bool:
        """Read a chunk in one UNION ALL; False (read one by one) if it fails."""
        duckdb = engine()
        t0 = time.perf_counter()
        try:
            rows = self._union(task)
        except duckdb.Error:
            self.interrupted = False
            return False  # a missing table or column: only that contract should fail
        each = (time.perf_counter() - t0) / len(task)
        for k, value, typ in rows:
            contract, sql, _, _ = task[k]
            if _exact(value, typ):
                self._one(contract, sql, [(value,)], each)
            else:
                self._one(contract, sql)  # the UNION changed its type: read it alone
        return True

    def _union(self, task: Task) -> list[tuple[Any, ...]]:
        """(k, newest, its own type) per read of a chunk, in one UNION ALL.

        Time columns are read without `typeof()` first (it costs DuckDB a quarter of the
        read): when the union's column is a time type, every row is a time value or NULL,
        which reads the same whatever the union cast (see `_exact`). Otherwise (a text
        or number column among them) the chunk is read again with each row's own type.
        """
        if all(_plain_time(contract) for contract, *_ in task):
            union = "\nUNION ALL\n".join(
                f"SELECT {k} AS k, max({column}) AS v{tail}"
                for k, (_, _, column, tail) in enumerate(task)
            )
            rows, types = self._execute_typed(union)
            if len(types) == 2 and types[1].startswith(_TIME_TYPES):
                return [(k, v, types[1]) for k, v in rows]
        parts = [
            f"SELECT {k} AS k, max({column}) AS v, typeof(max({column})) AS t{tail}"
            for k, (_, _, column, tail) in enumerate(task)
        ]
        return self._execute("\nUNION ALL\n".join(parts))

    def _one(
        self,
        contract: Contract,
        sql: str,
        rows: list[tuple[Any, ...]] | None = None,
        took: float = 0.0,
    ) -> None:
        """Deliver one contract's reading: from `rows` already read, else by running `sql`."""
        t0 = time.perf_counter() - took
        try:
            if rows is None:
                rows = self._execute(sql)
            reading = self._reading(contract, rows, time.perf_counter() - t0)
        except Exception as exc:
            why = describe(exc)
            if self.interrupted:
                why = f"timed out after {self.ctx.timeout:g}s"
                self.interrupted = False
            reading = error_reading(contract, why, time.perf_counter() - t0)
        self._done(reading)

    def _reading(self, contract: Contract, rows: list[tuple[Any, ...]], took: float) -> Reading:
        """Text columns compare as text: re-read them cast, so the newest is exact."""
        src = contract.source
        if isinstance(src, TableSource) and rows and isinstance(rows[0][0], str):
            cast = "DECIMAL(38,6)" if src.column_format else "TIMESTAMPTZ"
            t0 = time.perf_counter()
            rows = self._execute(statement(contract, duck_quote, cast=cast, dialect="duckdb"))
            took += time.perf_counter() - t0
        return reading_from_rows(contract, rows, self.tz, took)

    def _done(self, reading: Reading) -> None:
        self.readings.append(reading)
        self.unsent.append(reading)

    def _flush(self) -> None:
        """Deliver the task's readings in one call (one wake-up of the dispatcher)."""
        if self.unsent:
            self.ctx.deliver(*self.unsent)
            self.unsent = []


def _plain_time(contract: Contract) -> bool:
    """A table read without `column_format` (its column may be a time type)."""
    src = contract.source
    return isinstance(src, TableSource) and src.column_format is None


def _exact(value: object, typ: str) -> bool:
    """Whether a UNION ALL row holds the column's own value (the union may change types)."""
    if value is None or typ.startswith(_TIME_TYPES):
        # Any time type, even cast to TIMESTAMPTZ or VARCHAR by the union, reads the same:
        # the session zone is the warehouse zone, and text keeps its offset.
        return True
    if typ == "VARCHAR":
        return isinstance(value, str)
    if typ in ("DOUBLE", "FLOAT"):
        return isinstance(value, float)
    return isinstance(value, _EXACT_NUMBERS) and not isinstance(value, bool)


def _supervise(workers: list[_Worker], timeout: float) -> None:
    """Wait for the workers; interrupt a query that runs past the timeout."""
    while True:
        alive = [w for w in workers if w.is_alive()]
        if not alive:
            return
        for w in alive:
            started = w.started
            if started is not None and time.monotonic() - started > timeout:
                w.interrupted = True
                w.cursor.interrupt()
        alive[0].join(timeout=min(0.05, timeout))
