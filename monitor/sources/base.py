"""What every source kind shares: the read context, error readings, error text, paths.

A source kind is a module with two functions (`registry.Reader`), registered in registry.py:

    read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]
    explain(contract: Contract, ctx: ReadContext) -> str

`read_batch` returns one Reading per contract and never raises for one broken contract
(that contract gets an `error` Reading). It may call `ctx.report(reading)` as each
reading is ready (`ctx.deliver(*readings)`): the dispatcher then passes them on at once,
and a group's timeout counts from the last reading reported, so a long batch that makes
progress is never cut off.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from monitor.config.settings import Settings, Warehouse
from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading

_DEFAULT_TIMEOUT = timedelta(seconds=30)

# One contract due for a backfill, and the moment after which it reads (its coverage marker,
# or `now - window` on first use); the context's `now` is the moment up to which it reads.
Due = tuple[Contract, datetime]
# Per contract: its update times in (since, now] as epoch seconds, or why the backfill failed.
Backfilled = tuple[Contract, "list[float] | str"]


@dataclass(frozen=True)
class ReadContext:
    """What a reader needs besides the contracts: settings, `now`, the warehouse, the store.

    `as_of` is set by `fresh check --at T` (SPEC 4): a reader of a source that records when
    things happened ignores everything after T (rows, files, runs, pings, events); a value it
    cannot cut at T (a `query`, metadata) is checked against T by the dispatcher.
    """

    settings: Settings
    now: datetime
    warehouse: str | None = None
    store: object | None = None
    report: Callable[[Sequence[Reading]], None] | None = None
    as_of: datetime | None = None

    @property
    def warehouse_config(self) -> Warehouse:
        """The settings of `warehouse`; raises SourceError when it is not configured."""
        if self.warehouse is None or self.warehouse not in self.settings.warehouses:
            raise SourceError(f"warehouse {self.warehouse!r} is not defined in fresh.yml")
        return self.settings.warehouses[self.warehouse]

    @property
    def timeout(self) -> float:
        """Seconds one query may take: the warehouse's `timeout` (30 s without one)."""
        wh = self.settings.warehouses.get(self.warehouse or "")
        return (wh.timeout if wh is not None else _DEFAULT_TIMEOUT).total_seconds()

    def deliver(self, *readings: Reading) -> None:
        """Hand finished readings to the dispatcher early (no-op when nobody listens).

        Deliver a chunk's readings in one call: each call wakes the dispatcher's thread.
        """
        if self.report is not None and readings:
            self.report(readings)


def error_reading(contract: Contract | str, message: str, duration: float = 0.0) -> Reading:
    """An `error` Reading for `contract` with `message` (mask secrets before calling)."""
    name = contract if isinstance(contract, str) else contract.name
    return Reading(contract=name, error=message, duration_seconds=duration)


def read_each(
    contracts: Sequence[Contract], ctx: ReadContext, read_one: Callable[[Contract], Reading]
) -> list[Reading]:
    """One Reading per contract, read one at a time by `read_one`: each timed, a
    SourceError turned into an `error` reading, and each delivered as soon as it is made
    (the dispatcher's timeout counts progress from there). Never raises for a bad source."""
    readings = []
    for contract in contracts:
        started = time.perf_counter()
        try:
            reading = read_one(contract)
        except SourceError as exc:
            reading = error_reading(contract, str(exc))
        readings.append(replace(reading, duration_seconds=time.perf_counter() - started))
        ctx.deliver(readings[-1])
    return readings


# --- Errors and paths ---------------------------------------------------------------------

_SQLA_TAIL = re.compile(r"\s*\(Background on this error at: [^)]*\)\s*$")


def describe(exc: BaseException) -> str:
    """One short line saying why a read failed (driver message, no SQL echo)."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's exception
    if isinstance(orig, BaseException):
        exc = orig
    text = str(exc).strip() or type(exc).__name__
    text = _SQLA_TAIL.sub("", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    # PostgreSQL puts the useful hint (LINE/HINT) after the first line; keep it short.
    extra = [ln for ln in lines[1:] if ln.startswith(("HINT:", "DETAIL:"))]
    return " ".join([first, *extra])[:500]


def resolve_path(path: str, base_dir: Path) -> str:
    """A database file path from a URL, relative ones read from `base_dir`."""
    if path in ("", ":memory:") or path.startswith(("md:", "motherduck:", "file:")):
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base_dir / p))
