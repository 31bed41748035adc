"""`openlineage:` contracts: OpenLineage RunEvents that `fresh serve` received and stored
(SPEC 12), read from the state store by `fresh serve` and `fresh check` alike.

A job's newest COMPLETE is the last update; FAIL and ABORT runs after it are counted in
`detail` as run logs do; a run STARTed after it and never ended is a run in progress
(`Reading.started_at`): evaluate makes it stale `error_after` after its start ("started 2h
ago, never finished"). A dataset follows the runs whose outputs include it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from monitor.core.errors import FreshError
from monitor.core.models import Contract, OpenLineageSource, Reading
from monitor.store import Store
from monitor.store.lineage import LineageState, dataset_state, job_state


def source_of(contract: Contract) -> OpenLineageSource:
    """The contract's OpenLineageSource (TypeError for another kind)."""
    if not isinstance(contract.source, OpenLineageSource):
        raise TypeError(f"{contract.name} is not an openlineage contract")
    return contract.source


def read_batch(contracts: Sequence[Contract], ctx: Any) -> list[Reading]:
    """One Reading per contract; a store that cannot be reached is an error for each."""
    started = time.perf_counter()
    as_of = getattr(ctx, "as_of", None)  # `fresh check --at`: events after it are not seen
    store = ctx.store if isinstance(ctx.store, Store) else None
    try:
        if store is not None:
            return _read(contracts, store, as_of, started)
        with Store.from_settings(ctx.settings) as own:
            return _read(contracts, own, as_of, started)
    except FreshError as exc:
        elapsed = time.perf_counter() - started
        return [Reading(c.name, error=str(exc), duration_seconds=elapsed) for c in contracts]


def _read(contracts: Sequence[Contract], store: Store, as_of: Any, started: float) -> list[Reading]:
    out = []
    for c in contracts:
        src = source_of(c)
        if src.job is not None:
            state = job_state(store, src.namespace, src.job, as_of)
        else:
            state = dataset_state(store, src.namespace, str(src.dataset), as_of)
        out.append(to_reading(c, state, time.perf_counter() - started))
        started = time.perf_counter()
    return out


def to_reading(contract: Contract, state: LineageState, duration: float = 0.0) -> Reading:
    """What a job's (or dataset's) stored events mean as a Reading."""
    src = source_of(contract)
    what = f"job {src.namespace}/{src.job}" if src.job else f"dataset {src.namespace}/{src.dataset}"
    if state.events == 0:
        detail: str | None = f"no OpenLineage run event received for {what}"
    elif state.last_complete is None:
        detail = f"no COMPLETE run event for {what}"
    else:
        detail = None
    if state.failed_since:
        n = state.failed_since
        since = "since the last COMPLETE" if state.last_complete else "and no COMPLETE"
        failed = f"{n} failed run{'s' if n != 1 else ''} (FAIL/ABORT) {since}"
        detail = failed if detail is None else f"{detail}; {failed}"
    return Reading(
        contract.name,
        last_update=state.last_complete,
        started_at=state.running_since,
        detail=detail,
        duration_seconds=duration,
    )


def explain(contract: Contract, ctx: Any) -> str:
    """What is read, for `fresh explain`."""
    src = source_of(contract)
    if src.job is not None:
        subject = f"job {src.namespace!r} / {src.job!r}"
    else:
        subject = f"any run whose outputs include dataset {src.namespace!r} / {src.dataset!r}"
    return (
        f"the newest OpenLineage COMPLETE event of {subject}, as received by POST "
        "/api/v1/lineage and kept in the state store; FAIL/ABORT after it are counted, and a "
        "START never ended within error_after is stale"
    )
