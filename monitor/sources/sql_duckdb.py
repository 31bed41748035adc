"""DuckDB files read through the `duckdb` module directly: the fast path.

No SQLAlchemy and no sqlglot are imported here (together ~350 ms, more than reading a
thousand tables takes). The file is opened read-only once per batch and closed right after,
so the user's loader can take its write lock between reads; while a writer holds it, the
open is retried until the warehouse `timeout`, then reported with DuckDB's reason. One
max() per contract, spread over up to two cursors on their own threads (DuckDB releases
the GIL): separate queries beat one UNION ALL in-process (bench/bench_sql_batching.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.errors import SourceError
from monitor.models import Contract, Reading, TableSource
from monitor.sources.base import ReadContext, describe, error_reading
from monitor.sources.sql import duck_quote, reading_from_rows, statement

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

# Below this many contracts a second thread costs more than it saves (measured).
_PER_THREAD = 64
_MAX_THREADS = 2  # DuckDB scales to the cores; a second cursor is the measured win


def read_batch(path: str, contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per contract, from the DuckDB file at `path`."""
    wh = ctx.warehouse_config
    started = time.monotonic()
    planned: list[tuple[Contract, str]] = []
    readings: list[Reading] = []
    for contract in contracts:
        try:
            planned.append((contract, statement(contract, duck_quote)))
        except SourceError as exc:
            readings.append(error_reading(contract, str(exc)))
            ctx.deliver(readings[-1])
    if not planned:
        return readings
    try:
        con = _open(path, started + ctx.timeout, ctx.timeout)
    except SourceError as exc:
        elapsed = time.monotonic() - started
        return readings + [error_reading(c, str(exc), elapsed) for c, _ in planned]
    try:
        cores = os.cpu_count() or 1
        n = max(1, min(_MAX_THREADS, cores, wh.max_connections, len(planned) // _PER_THREAD))
        shares = [planned[i::n] for i in range(n)]
        workers = [_Worker(con.cursor(), share, wh.timezone, ctx) for share in shares]
        for w in workers:
            w.start()
        _supervise(workers, ctx.timeout)
        for w in workers:
            readings.extend(w.readings)
    finally:
        con.close()
    return readings


def _open(path: str, deadline: float, timeout: float) -> DuckDBPyConnection:
    import duckdb

    if not os.path.exists(path):
        raise SourceError(f"DuckDB file {path} does not exist")
    delay = 0.01
    while True:
        try:
            return duckdb.connect(path, read_only=True)
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
    """Runs its share of contracts on one cursor; `started` is the running query's start."""

    def __init__(
        self,
        cursor: DuckDBPyConnection,
        share: list[tuple[Contract, str]],
        tz: str,
        ctx: ReadContext,
    ) -> None:
        super().__init__(daemon=True, name="fresh-duckdb")
        self.cursor = cursor
        self.share = share
        self.tz = tz
        self.ctx = ctx
        self.readings: list[Reading] = []
        self.started: float | None = None
        self.interrupted = False

    def run(self) -> None:
        import duckdb

        cur = self.cursor
        try:
            # Naive values cast to TIMESTAMPTZ (ISO text, user queries) read in this zone.
            cur.execute(f"SET TimeZone = '{self.tz.replace(chr(39), '')}'")
        except duckdb.Error as exc:
            for contract, _ in self.share:
                self._done(error_reading(contract, f"timezone {self.tz}: {describe(exc)}"))
            return
        for contract, sql in self.share:
            t0 = time.perf_counter()
            self.started = time.monotonic()
            try:
                rows = cur.execute(sql).fetchmany(2)
                rows = self._exact_text(cur, contract, rows)
                reading = reading_from_rows(contract, rows, self.tz, time.perf_counter() - t0)
            except duckdb.Error as exc:
                why = describe(exc)
                if self.interrupted:
                    why = f"timed out after {self.ctx.timeout:g}s"
                    self.interrupted = False
                reading = error_reading(contract, why, time.perf_counter() - t0)
            self.started = None
            self._done(reading)
        cur.close()

    def _exact_text(
        self, cur: DuckDBPyConnection, contract: Contract, rows: list[tuple[object, ...]]
    ) -> list[tuple[object, ...]]:
        """Text columns compare as text; re-read them cast, so the newest is exact."""
        src = contract.source
        if not (isinstance(src, TableSource) and rows and isinstance(rows[0][0], str)):
            return rows
        cast = "DECIMAL(38,6)" if src.column_format else "TIMESTAMPTZ"
        return cur.execute(statement(contract, duck_quote, cast=cast)).fetchmany(2)

    def _done(self, reading: Reading) -> None:
        self.readings.append(reading)
        self.ctx.deliver(reading)


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
