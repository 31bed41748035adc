"""The core values of fresh, as frozen dataclasses.

Data flows one way: YAML → `Contract` → `Reading` (what a source saw) → `Verdict`
(pure judgement at `now`) → store → metrics / API / alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal


class Status(StrEnum):
    """A contract's verdict. Order of the members is worst-last for `rank`."""

    FRESH = "fresh"
    WARN = "warn"
    STALE = "stale"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Higher is worse; used to sort worst first."""
        return {"fresh": 0, "warn": 1, "stale": 2, "error": 3}[self.value]


class Severity(StrEnum):
    """How much a broken contract matters."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


ColumnFormat = Literal["epoch_s", "epoch_ms"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was declared (1-based line and column)."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        # Line 0: a file with no useful lines (an imported dbt manifest is one line of JSON).
        return f"{self.path}:{self.line}:{self.col}" if self.line > 0 else self.path


# --- Sources: exactly one per contract -------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableSource:
    """`table` (+ `column`, `where`): newest column value, or metadata when no column."""

    table: str
    column: str | None = None
    where: str | None = None
    column_format: ColumnFormat | None = None
    kind: Literal["table"] = "table"


@dataclass(frozen=True, slots=True)
class QuerySource:
    """`query`: one read-only SELECT returning one timestamp."""

    sql: str
    kind: Literal["query"] = "query"


@dataclass(frozen=True, slots=True)
class FilesSource:
    """`files`: a glob (local or s3://); newest mtime, or newest `column` value inside."""

    glob: str
    column: str | None = None
    column_format: ColumnFormat | None = None
    kind: Literal["files"] = "files"


@dataclass(frozen=True, slots=True)
class RunLogSource:
    """`run_log`: the newest successful run of `job` in a table or files."""

    job: str
    table: str | None = None
    file: str | None = None
    preset: Literal["airflow", "dbt"] | None = None
    job_column: str = "job"
    status_column: str = "status"
    success: tuple[str, ...] = ("success",)
    failure: tuple[str, ...] = ("failed", "error")
    time_column: str = "finished_at"
    kind: Literal["run_log"] = "run_log"


@dataclass(frozen=True, slots=True)
class HeartbeatSource:
    """`heartbeat: {}`: pings recorded by `fresh ping` / `fresh run` / the ping API."""

    kind: Literal["heartbeat"] = "heartbeat"


@dataclass(frozen=True, slots=True)
class OpenLineageSource:
    """`openlineage: {namespace, job}` or `{namespace, dataset}`: OpenLineage RunEvents that
    `fresh serve` received (SPEC 12); exactly one of `job` / `dataset`."""

    namespace: str
    job: str | None = None
    dataset: str | None = None
    kind: Literal["openlineage"] = "openlineage"


@dataclass(frozen=True, slots=True)
class DeltaSource:
    """`delta`: a Delta Lake table (local path or s3://); its newest data-changing commit."""

    path: str
    kind: Literal["delta"] = "delta"


@dataclass(frozen=True, slots=True)
class IcebergSource:
    """`iceberg: NAMESPACE.TABLE` with `catalog:`: its newest snapshot that changed data."""

    table: str
    catalog: str
    kind: Literal["iceberg"] = "iceberg"


Source = (
    TableSource
    | QuerySource
    | FilesSource
    | RunLogSource
    | HeartbeatSource
    | OpenLineageSource
    | DeltaSource
    | IcebergSource
)


# --- Contract ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Learn:
    """`learn:` (SPEC 13): limits learned from the contract's own update history."""

    window: timedelta = timedelta(days=35)  # how much history to learn from
    backfill: bool = True  # read past updates from the source on first use


@dataclass(frozen=True, slots=True)
class Expectation:
    """When data counts as late: warn_after / error_after, `learn`, or both (first wins)."""

    warn_after: timedelta | None = None
    error_after: timedelta | None = None
    schedule: str | None = None  # cron, read in `timezone`
    timezone: str = "UTC"  # IANA name
    learn: Learn | None = None


DEFAULT_CHECK_EVERY = timedelta(minutes=5)  # a contract without `check_every`


# One read-only empty mapping for every contract without metadata (most of them): a dict
# each is 64 bytes per contract for nothing.
NO_METADATA: Mapping[str, Any] = MappingProxyType({})


def _frozen_map(m: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(m)) if m else NO_METADATA


@dataclass(frozen=True, slots=True)
class Contract:
    """One freshness contract, fully resolved (defaults merged, env expanded)."""

    name: str
    owner: str
    warehouse: str
    source: Source
    expectation: Expectation
    severity: Severity = Severity.WARNING
    description: str = ""
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=_frozen_map)
    check_every: timedelta = DEFAULT_CHECK_EVERY
    location: Location | None = None
    node: str | None = None  # imported (SPEC 11): the dbt unique_id or data contract element

    @property
    def kind(self) -> str:
        """The source kind: table, query, files, run_log, heartbeat, openlineage, delta…"""
        return self.source.kind


# --- Reading and Verdict ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """What a source saw. `error` set means the source could not be read.

    `last_update` None with no error means "no data at all" (stale, never skipped).
    `started_at` is a heartbeat run in progress since then (a `/start` with no end yet).
    """

    contract: str
    last_update: datetime | None = None
    error: str | None = None
    detail: str | None = None
    started_at: datetime | None = None
    duration_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The pure judgement of one reading at `checked_at`."""

    contract: str
    status: Status
    checked_at: datetime
    last_update: datetime | None
    warn_at: datetime | None  # when it turns (turned) warn without new data
    error_at: datetime | None  # when it turns (turned) stale without new data
    description: str  # one human line
    error: str | None = None
    detail: str | None = None
    duration_seconds: float = 0.0
    # With `learn`: the limits in force at `checked_at` (the learned ones, or the fixed
    # ones where those come first); None while learning or without `learn`.
    learned_warn_after: timedelta | None = None
    learned_error_after: timedelta | None = None

    @property
    def age_seconds(self) -> float | None:
        """Seconds between the newest data and the check, or None with no data."""
        if self.last_update is None:
            return None
        return (self.checked_at - self.last_update).total_seconds()

    @property
    def deadline(self) -> datetime | None:
        """When it turns (turned) stale: error_at, or warn_at with only warn_after."""
        return self.error_at if self.error_at is not None else self.warn_at


@dataclass(frozen=True)
class AlertState:
    """What the store keeps about one contract's alert between steps (the rules that move
    it are in monitor/alerts/lifecycle.py; the SQL in monitor/store/alert_state.py)."""

    contract: str
    status: Status | None = None  # the status the alerts last saw (None: never seen)
    seq: int = 0  # transitions recorded so far; the next one is seq + 1
    episode: int = 0  # alerts opened so far; the open one when `open`
    open: bool = False
    next_repeat_at: datetime | None = None
    muted: bool = False  # the open alert's last transition was silenced, not sent
    version: int = 0  # bumped by every write: the compare-and-set guard
