"""Read contracts from their sources: the dispatcher every source kind plugs into.

Contracts are grouped by source kind (monitor/sources/registry.py) and, for kinds that query
a warehouse, by warehouse. Each group runs on its own thread, so a slow or dead warehouse never
delays the others; a group that reports nothing for longer than its warehouse `timeout` gets
`error` readings for its unfinished contracts and is not waited for. Any exception a reader raises
becomes an `error` reading; a kind whose reader cannot be imported does too.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor.config.redact import scrub, secrets_of
from monitor.config.settings import Settings
from monitor.core.durations import compact_duration
from monitor.core.models import Contract, Reading
from monitor.sources.asof import too_new
from monitor.sources.base import ReadContext, describe, error_reading
from monitor.sources.registry import Kind, kind_of
from monitor.sources.sharing import dedupe

__all__ = ["ReadContext", "explain_contract", "kind_of", "read_contracts"]

# A reader's own timeout (statement timeout, lock retries) should win over the watchdog,
# whose message is vaguer: give it this much slack.
_GRACE_SECONDS = 0.5

def _not_available(kind: Kind) -> str:
    return f"source kind {kind.name} is not available"


def _warehouse_of(contract: Contract, kind: Kind) -> str | None:
    """The warehouse a group is bound to: SQL kinds and run logs kept in a table."""
    return contract.warehouse if kind.by_warehouse(contract) else None


@dataclass
class _Group:
    kind: Kind
    warehouse: str | None
    contracts: list[Contract]
    limit: float  # seconds without progress before the group is given up
    pending: set[str] = field(default_factory=set)
    started: float = 0.0
    last_progress: float = 0.0
    finished: bool = False


_DONE = object()


def read_contracts(
    contracts: Sequence[Contract],
    settings: Settings,
    now: datetime,
    *,
    store: object | None = None,
    on_read: Callable[[Reading], None] | None = None,
    as_of: datetime | None = None,
) -> dict[str, Reading]:
    """Read every contract's source; one Reading per contract name, never an exception.

    `on_read` is called on the calling thread as each reading arrives (for progress bars
    and the service's streaming); the dict returned holds them all. `as_of` (`fresh check
    --at`) reads every source as it stood then (monitor.sources.asof).
    """
    secrets = secrets_of(settings)
    groups = _group(contracts, settings)
    results: dict[str, Reading] = {}
    inbox: queue.SimpleQueue[tuple[int, object]] = queue.SimpleQueue()

    def accept(group: _Group, reading: Reading) -> None:
        if reading.contract not in group.pending:
            return  # a duplicate, or a name that is not this group's: first reading wins
        group.pending.discard(reading.contract)
        reading = too_new(reading, as_of)  # nothing read may lie after `--at`
        if reading.error is not None:
            reading = _with_error(reading, scrub(reading.error, secrets))
        results[reading.contract] = reading
        if on_read is not None:
            on_read(reading)

    for gid, group in enumerate(groups):
        group.started = group.last_progress = time.monotonic()
        ctx = ReadContext(
            settings=settings,
            now=now,
            warehouse=group.warehouse,
            store=store,
            report=lambda rs, gid=gid: inbox.put((gid, list(rs))),  # type: ignore[misc]
            as_of=as_of,
        )
        # Daemon threads: a hung driver call must never keep the process alive at exit.
        threading.Thread(
            target=_run_group,
            args=(gid, group, ctx, inbox),
            name=f"fresh-read-{group.kind.key}-{group.warehouse or ''}",
            daemon=True,
        ).start()

    while not all(g.finished for g in groups):
        now_m = time.monotonic()
        open_groups = [g for g in groups if not g.finished]
        wait = min(g.last_progress + g.limit - now_m for g in open_groups)
        try:
            gid, item = inbox.get(timeout=max(wait, 0.0)) if wait > 0 else inbox.get_nowait()
        except queue.Empty:
            pass
        else:
            group = groups[gid]
            if not group.finished:
                if item is _DONE:
                    _finish(group, accept, "the source returned no reading for this contract")
                elif isinstance(item, list):
                    # The group stays open until its thread is done (_DONE), so no reader
                    # thread is still inside a driver when the process exits.
                    group.last_progress = time.monotonic()
                    for reading in item:
                        accept(group, reading)
        now_m = time.monotonic()
        for group in groups:
            if not group.finished and now_m >= group.last_progress + group.limit:
                shown = _seconds(group.limit - _GRACE_SECONDS)
                _finish(group, accept, f"timed out after {shown}", now_m - group.started)
    return results


def _finish(
    group: _Group, accept: Callable[[_Group, Reading], None], why: str, duration: float = 0.0
) -> None:
    for contract in group.contracts:
        if contract.name in group.pending:
            accept(group, error_reading(contract, why, duration))
    group.finished = True


def _run_group(
    gid: int, group: _Group, ctx: ReadContext, inbox: queue.SimpleQueue[tuple[int, object]]
) -> None:
    started = time.monotonic()
    try:
        try:
            reader = group.kind.load()
        except ImportError:
            why = _not_available(group.kind)
            inbox.put((gid, [error_reading(c, why) for c in group.contracts]))
            return
        # Identical reads (same warehouse, relation, column, format, where) run once.
        shared = dedupe(group.contracts)
        readings = reader.read_batch(shared.readers, replace(ctx, report=shared.wrap(ctx.report)))
        inbox.put((gid, shared.fan_out(readings)))
    except BaseException as exc:  # a reader's bug must become an error reading, not a crash
        why = describe(exc)
        elapsed = time.monotonic() - started
        inbox.put((gid, [error_reading(c, why, elapsed) for c in group.contracts]))
    finally:
        inbox.put((gid, _DONE))


def _group(contracts: Sequence[Contract], settings: Settings) -> list[_Group]:
    groups: dict[tuple[str, str | None], _Group] = {}
    for contract in contracts:
        kind = kind_of(contract)
        warehouse = _warehouse_of(contract, kind)
        key = (kind.key, warehouse)
        if key not in groups:
            wh = settings.warehouses.get(warehouse or contract.warehouse)
            timeout = wh.timeout.total_seconds() if wh is not None else 30.0
            groups[key] = _Group(kind, warehouse, [], timeout + _GRACE_SECONDS)
        own = kind.timeout(contract, settings)
        if own is not None:  # e.g. an Iceberg catalog's: the longest of the batch
            groups[key].limit = max(groups[key].limit, own + _GRACE_SECONDS)
        groups[key].contracts.append(contract)
        groups[key].pending.add(contract.name)
    return list(groups.values())


def _with_error(reading: Reading, error: str) -> Reading:
    return replace(reading, error=error)


def _seconds(value: float) -> str:
    """`30s`, `1m30s`, or `0.5s`: a timeout the way it was written."""
    if value == int(value) and value >= 1:
        from datetime import timedelta

        return compact_duration(timedelta(seconds=value))
    return f"{value:g}s"


def explain_contract(contract: Contract, settings: Settings) -> str:
    """What reading `contract` runs (the SQL, or the files read), for `fresh explain`."""
    from datetime import UTC

    kind = kind_of(contract)
    ctx = ReadContext(
        settings=settings,
        now=datetime.now(UTC),
        warehouse=_warehouse_of(contract, kind),
    )
    try:
        reader = kind.load()
    except ImportError:
        return _not_available(kind)
    text = reader.explain(contract, ctx)
    return scrub(text, secrets_of(settings))
