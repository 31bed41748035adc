"""DuckDB warehouses opened ahead of their reads and closed behind them, in one-shot commands.

Opening a DuckDB file costs `fresh check` about 50 ms (the engine starts, the catalog is
read) and closing it about 13 ms, of a whole run of about 250 ms for 1,000 contracts.
DuckDB releases the GIL for both. So within `one_shot()`, the command hands each DuckDB
warehouse of fresh.yml to `warm` as soon as fresh.yml is read, and a thread opens it
read-only while the contracts are still being parsed; the reader then `take`s that
connection instead of opening its own, and `release` closes it on a thread while the
verdicts are judged and rendered. Leaving `one_shot()` closes what nobody took and waits for
every close, so the file is free again when the command returns (tests run it in-process);
as a console script, whose process ends right after, it does not wait (~10 ms), and the
console settles them itself if the process ends the ordinary way instead.

Outside `one_shot()` (the service), nothing is warmed and `release` closes at once: a
loader waiting for the write lock gets it as soon as the round's reads are done.

The warmed open is tried once: if it fails (a writer's lock, a broken file), the reader
opens as it always does, with its retries and its own messages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.sources.base import resolve_path
from monitor.sources.duck_guard import connect_warehouse

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

_lock = threading.Lock()
_active = False  # inside one_shot()
_warm: dict[str, _Opening] = {}
_closing: list[threading.Thread] = []


def duckdb_file(url: str, base_dir: Path) -> str | None:
    """The file of a `duckdb:///path` URL (relative to `base_dir`), else None."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("duckdb",):
        return None
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    if path.startswith(("md:", "motherduck:")) or path in ("", ":memory:"):
        return None  # not a local file: let SQLAlchemy + duckdb_engine handle it
    return resolve_path(path, base_dir)


class _Opening(threading.Thread):
    """One read-only open of `path`, on its own thread."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True, name="fresh-duckdb-open")
        self.path = path
        self.con: DuckDBPyConnection | None = None

    def run(self) -> None:
        try:
            self.con = connect_warehouse(self.path)
        except Exception:  # the reader opens again and reports why
            self.con = None

    def close(self) -> None:
        """Close the connection once the open is done (nobody took it)."""
        self.join()
        if self.con is not None:
            self.con.close()


@contextmanager
def one_shot(wait: bool = True) -> Iterator[None]:
    """Warm opens and background closes for the duration of one command; on leaving, wait
    for every close, unless `wait` is False: the process ends right after (`fresh check`
    as a console script), and `settle()` is left to whoever exits otherwise."""
    global _active
    with _lock:
        _active = True
    try:
        yield
    finally:
        with _lock:
            _active = False
            left = list(_warm.values())
            _warm.clear()
        for opening in left:  # warmed for a warehouse no selected contract reads
            _behind(opening.close)
        if wait:
            settle()


def warm(urls: Mapping[str, str], base_dir: Path) -> None:
    """Start opening the DuckDB files among the warehouse `urls` (within `one_shot()`)."""
    for url in urls.values():
        path = duckdb_file(url, base_dir)
        if path is None or not os.path.isfile(path):
            continue
        with _lock:
            if not _active or path in _warm:
                continue
            opening = _warm[path] = _Opening(path)
        opening.start()


def take(path: str) -> DuckDBPyConnection | None:
    """The connection warmed for `path` once its open is done; None: open it yourself."""
    with _lock:
        opening = _warm.pop(path, None)
    if opening is None:
        return None
    opening.join()  # a read-only open either succeeds or fails: it does not wait for locks
    return opening.con


def release(con: DuckDBPyConnection) -> None:
    """Close `con`: behind the caller's back within `one_shot()`, else at once."""
    with _lock:
        behind = _active
    if behind:
        _behind(con.close)
    else:
        con.close()


def _behind(close: Callable[[], None]) -> None:
    closer = threading.Thread(target=close, daemon=True, name="fresh-duckdb-close")
    with _lock:
        _closing.append(closer)
    closer.start()


def settle() -> None:
    """Wait until every connection handed to `release` is closed."""
    with _lock:
        pending = list(_closing)
        _closing.clear()
    for closer in pending:
        closer.join()
