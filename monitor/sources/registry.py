"""Which reader reads which contract: every source kind, registered once, by type.

A reader is a module (or any object) with the two functions of `Reader`. `kind_of` picks
the kind from the contract's source class; mypy checks that every class of `Source` has a
kind (`assert_never`), so a new source class without a reader does not type-check.

To add a source kind: its spec in config/ (a Source class in core/models.py), a reader
module in sources/, one `Kind` below and one `case` in `kind_of`, and one `case` in
`backfiller_of` (how a `learn` contract of that kind backfills its history, or None).
Nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, assert_never

from monitor.config.settings import Settings
from monitor.core.models import (
    Contract,
    DeltaSource,
    FilesSource,
    HeartbeatSource,
    IcebergSource,
    OpenLineageSource,
    QuerySource,
    Reading,
    RunLogSource,
    TableSource,
)
from monitor.sources.base import Backfilled, Due, ReadContext


class Reader(Protocol):
    """What a source kind provides (see monitor/sources/base.py for the contract)."""

    def read_batch(self, contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]: ...

    def explain(self, contract: Contract, ctx: ReadContext) -> str: ...


class Backfiller(Protocol):
    """How a source kind backfills learned histories (SPEC 13), monitor/sources/*/backfill.py.

    `backfill` reads the past updates of each due contract (one read per contract where the
    source allows it), never raises for one contract (that one gets its reason), and cuts
    at `ctx.now`: nothing after it is returned.
    """

    def backfill(self, due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]: ...


@dataclass(frozen=True)
class Kind:
    """One source kind: how the dispatcher batches its contracts and finds its reader."""

    key: str  # names a batch and its reader thread
    name: str  # as messages name it
    load: Callable[[], Reader]  # ImportError: the kind cannot run here ("not available")
    by_warehouse: Callable[[Contract], bool]  # read in one batch per warehouse?
    # Seconds its batch may go without progress, when not the warehouse `timeout`.
    timeout: Callable[[Contract, Settings], float | None] = lambda c, s: None


def _always(contract: Contract) -> bool:
    return True


def _never(contract: Contract) -> bool:
    return False


def _in_a_table(contract: Contract) -> bool:
    return isinstance(contract.source, RunLogSource) and contract.source.table is not None


# Each reader is imported on first use: a check reads only the kinds its contracts have, so a
# project of DuckDB tables never loads the files, run-log or heartbeat readers (the last one
# loads the state store, and with it SQLAlchemy).


def _sql() -> Reader:
    from monitor.sources.sql import reader

    return reader


def _metadata() -> Reader:
    from monitor.sources.sql import metadata

    return metadata


def _files() -> Reader:
    from monitor.sources.files import reader

    return reader


def _run_log() -> Reader:
    from monitor.sources.run_log import reader

    return reader


def _heartbeat() -> Reader:
    from monitor.sources.heartbeat import reader

    return reader


def _openlineage() -> Reader:
    # Imported on first use, like heartbeats: the events are in the state store.
    from monitor.sources.openlineage import reader

    return reader


def _delta() -> Reader:
    # Imported on first use: delta-rs and pyarrow load only when a delta contract is read.
    from monitor.sources.lake import delta

    return delta


def _iceberg() -> Reader:
    from monitor.sources.lake import iceberg

    return iceberg


def _catalog_timeout(contract: Contract, settings: Settings) -> float | None:
    # The reader waits for each catalog its own `timeout`; the watchdog must not cut first.
    src = contract.source
    catalog = settings.catalogs.get(src.catalog) if isinstance(src, IcebergSource) else None
    return catalog.timeout.total_seconds() if catalog is not None else None


SQL = Kind("sql", "table/query", _sql, _always)
METADATA = Kind("metadata", "table (metadata)", _metadata, _always)
FILES = Kind("files", "files", _files, _never)
RUN_LOG = Kind("run_log", "run_log", _run_log, _in_a_table)
HEARTBEAT = Kind("heartbeat", "heartbeat", _heartbeat, _never)
OPENLINEAGE = Kind("openlineage", "openlineage", _openlineage, _never)
DELTA = Kind("delta", "delta", _delta, _never)
ICEBERG = Kind("iceberg", "iceberg", _iceberg, _never, _catalog_timeout)


def kind_of(contract: Contract) -> Kind:
    """The source kind that reads `contract`."""
    src = contract.source
    # Looked up as module globals at call time, so a test can swap one kind's reader.
    match src:
        case TableSource():
            return SQL if src.column else METADATA
        case QuerySource():
            return SQL
        case FilesSource():
            return FILES
        case RunLogSource():
            return RUN_LOG
        case HeartbeatSource():
            return HEARTBEAT
        case OpenLineageSource():
            return OPENLINEAGE
        case DeltaSource():
            return DELTA
        case IcebergSource():
            return ICEBERG
        case _:
            assert_never(src)


# --- Backfills of learned histories (SPEC 13) ----------------------------------------------


def _sql_backfill() -> Backfiller:
    from monitor.sources.sql import backfill

    return backfill


def _files_backfill() -> Backfiller:
    from monitor.sources.files import backfill

    return backfill


def _run_log_backfill() -> Backfiller:
    from monitor.sources.run_log import backfill

    return backfill


def _store_backfill() -> Backfiller:
    # Heartbeat pings and OpenLineage events live in the state store.
    from monitor.sources import store_backfill

    return store_backfill


def _lake_backfill() -> Backfiller:
    from monitor.sources.lake import backfill

    return backfill


@dataclass(frozen=True)
class BackfillKind:
    """How one kind's `learn` contracts backfill: `key` names the batch, `load` the module."""

    key: str
    load: Callable[[], Backfiller]


SQL_BACKFILL = BackfillKind("sql", _sql_backfill)
FILES_BACKFILL = BackfillKind("files", _files_backfill)
RUN_LOG_BACKFILL = BackfillKind("run_log", _run_log_backfill)
STORE_BACKFILL = BackfillKind("store", _store_backfill)
LAKE_BACKFILL = BackfillKind("lake", _lake_backfill)


def backfiller_of(contract: Contract) -> BackfillKind | None:
    """How a `learn` contract backfills its history from the source, or None: a `query` and
    a table's metadata say only when it changed last, so those learn from what fresh
    observes (SPEC 13)."""
    src = contract.source
    match src:
        case TableSource():
            return SQL_BACKFILL if src.column else None
        case QuerySource():
            return None
        case FilesSource():
            return FILES_BACKFILL
        case RunLogSource():
            return RUN_LOG_BACKFILL
        case HeartbeatSource() | OpenLineageSource():
            return STORE_BACKFILL
        case DeltaSource() | IcebergSource():
            return LAKE_BACKFILL
        case _:
            assert_never(src)
