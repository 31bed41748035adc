"""`iceberg:` contracts: the newest snapshot of an Iceberg table that changed data (SPEC 14).

The table's metadata is loaded through its catalog (pyiceberg: `sql`, `rest`, `glue`,
`hive`…, properties from `catalogs:` in fresh.yml passed through), and the current
snapshot's ancestry is walked newest first: the first `append`, `overwrite` or `delete`
snapshot gives the last update. `replace` snapshots (compaction, rewrites) change no data,
and property or schema changes make no snapshot at all, so neither moves it. No data or
manifest file is read.

A catalog is asked on a worker thread and waited for at most its `timeout` (30 s unless
set): an unreachable catalog makes its contracts `error` within that time and never stalls
the round. Catalogs are asked in parallel; a loaded catalog is kept for the next round.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from monitor.config.settings import Catalog
from monitor.core.durations import compact_duration
from monitor.core.errors import SourceError
from monitor.core.models import Contract, IcebergSource, Reading
from monitor.sources.asof import stamp
from monitor.sources.base import ReadContext, describe

# Snapshot operations that add or remove rows; `replace` only rewrites files.
DATA_OPERATIONS = frozenset({"append", "overwrite", "delete"})


@dataclass(frozen=True)
class Snapshot:
    """What fresh needs of one snapshot."""

    snapshot_id: int
    timestamp_ms: int
    operation: str | None  # None: a snapshot without a summary (old writers)


def newest_data_snapshot(
    ancestry: Iterable[Snapshot], as_of: datetime | None = None
) -> Snapshot | None:
    """The first snapshot of `ancestry` (newest first) that changed data, by `as_of`."""
    limit = None if as_of is None else as_of.timestamp() * 1000
    for snap in ancestry:
        if limit is not None and snap.timestamp_ms > limit:
            continue  # written after `--at T`
        if snap.operation in DATA_OPERATIONS:
            return snap
    return None


def reading_for(name: str, ancestry: Sequence[Snapshot], as_of: datetime | None) -> Reading:
    """The Reading of one table from its snapshots (newest first)."""
    found = newest_data_snapshot(ancestry, as_of)
    if found is not None:
        return Reading(
            name,
            last_update=datetime.fromtimestamp(found.timestamp_ms / 1000, UTC),
            detail=f"Iceberg snapshot {found.snapshot_id}: {found.operation}",
        )
    if not ancestry:
        return Reading(name, detail="the table has no snapshot")
    until = f" up to {stamp(as_of)}" if as_of is not None else ""
    return Reading(name, detail=f"no snapshot of the {len(ancestry)} kept{until} changed data")


def read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per `iceberg` contract; never raises for a bad table or catalog."""
    by_catalog: dict[str, list[Contract]] = {}
    for contract in contracts:
        by_catalog.setdefault(_source(contract).catalog, []).append(contract)
    jobs: list[tuple[list[Contract], float, Future[list[Reading]]]] = []
    readings: list[Reading] = []
    for name, group in by_catalog.items():
        catalog = ctx.settings.catalogs.get(name)
        if catalog is None:
            why = f"catalog {name!r} is not defined in fresh.yml (catalogs:)"
            readings.extend(Reading(c.name, error=why) for c in group)
            continue
        future: Future[list[Reading]] = Future()
        threading.Thread(
            target=_run,
            args=(future, name, catalog, group, ctx.as_of),
            name=f"fresh-iceberg-{name}",
            daemon=True,  # a hung catalog call must not keep the process alive
        ).start()
        jobs.append((group, time.monotonic() + catalog.timeout.total_seconds(), future))
    ctx.deliver(*readings)
    for group, deadline, future in jobs:
        try:
            done = future.result(timeout=max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            name = _source(group[0]).catalog
            limit = compact_duration(ctx.settings.catalogs[name].timeout)
            why = f"catalog {name!r} did not answer within {limit}"
            done = [Reading(c.name, error=why) for c in group]
        readings.extend(done)
        ctx.deliver(*done)
    return readings


def explain(contract: Contract, ctx: ReadContext) -> str:
    """What a check of this contract reads."""
    src = _source(contract)
    catalog = ctx.settings.catalogs.get(src.catalog)
    kind = catalog.properties().get("type", "?") if catalog is not None else "undefined"
    return (
        f"the metadata of Iceberg table {src.table} from catalog {src.catalog!r} ({kind}, "
        "no data file read): the time of the newest snapshot in the current snapshot's "
        "ancestry whose operation is append, overwrite or delete (replace is skipped)"
    )


def _source(contract: Contract) -> IcebergSource:
    if not isinstance(contract.source, IcebergSource):
        raise TypeError(f"{contract.name} is not an iceberg contract")
    return contract.source


_CATALOGS: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
_CATALOGS_LOCK = threading.Lock()


def _catalog(name: str, properties: Mapping[str, str]) -> Any:
    """The pyiceberg catalog for these properties, loaded once per process."""
    key = (name, tuple(sorted(properties.items())))
    with _CATALOGS_LOCK:
        found = _CATALOGS.get(key)
    if found is not None:
        return found
    try:
        from pyiceberg.catalog import load_catalog
    except ImportError:
        raise SourceError(
            "iceberg: tables need pyiceberg: pip install 'fresh-monitor[lake]'"
        ) from None
    props = dict(properties)
    # pyiceberg's S3 FileIO reads keys and region from the AWS configuration itself; the
    # endpoint of an S3-compatible store is passed on the way delta-rs and s3fs find it.
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "s3.endpoint" not in props:
        props["s3.endpoint"] = endpoint
    try:
        loaded = load_catalog(name, **props)
    except Exception as exc:
        raise SourceError(f"cannot open catalog {name!r}: {describe(exc)}") from None
    with _CATALOGS_LOCK:
        _CATALOGS[key] = loaded
    return loaded


def _run(
    future: Future[list[Reading]],
    name: str,
    catalog: Catalog,
    contracts: Sequence[Contract],
    as_of: datetime | None,
) -> None:
    try:
        future.set_result(_read_catalog(name, catalog, contracts, as_of))
    except BaseException as exc:  # a library bug must become error readings, not a crash
        future.set_result([Reading(c.name, error=describe(exc)) for c in contracts])


def _read_catalog(
    name: str, catalog: Catalog, contracts: Sequence[Contract], as_of: datetime | None
) -> list[Reading]:
    try:
        cat = _catalog(name, catalog.properties())
    except SourceError as exc:
        return [Reading(c.name, error=str(exc)) for c in contracts]
    out = []
    for contract in contracts:
        started = time.perf_counter()
        try:
            reading = reading_for(contract.name, _ancestry(cat, name, contract), as_of)
        except SourceError as exc:
            reading = Reading(contract.name, error=str(exc))
        out.append(replace(reading, duration_seconds=time.perf_counter() - started))
    return out


def _ancestry(cat: Any, name: str, contract: Contract) -> list[Snapshot]:
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
    from pyiceberg.table.snapshots import ancestors_of

    table_name = _source(contract).table
    try:
        table = cat.load_table(table_name)
    except (NoSuchTableError, NoSuchNamespaceError):
        raise SourceError(f"no Iceberg table {table_name} in catalog {name!r}") from None
    except Exception as exc:
        raise SourceError(
            f"cannot load {table_name} from catalog {name!r}: {describe(exc)}"
        ) from None
    current = table.current_snapshot()
    if current is None:
        return []
    out = []
    for snap in ancestors_of(current, table.metadata):
        summary = snap.summary
        operation = summary.operation.value if summary is not None else None
        out.append(Snapshot(snap.snapshot_id, snap.timestamp_ms, operation))
    return out
