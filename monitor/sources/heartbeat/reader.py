"""`heartbeat: {}` contracts: what jobs reported with `fresh ping`, `fresh run` or the ping
endpoints, read from the state store.

The newest success is the last update. A /start newer than every success and fail is a run
in progress (`Reading.started_at`; evaluate makes it stale `error_after` later: a hung job).
A /fail newer than the newest success is told in `detail` with its exit code; the job's
output tail stays in the store (`Store.heartbeat_states`) for alerts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from monitor.config.settings import Settings
from monitor.core.errors import FreshError
from monitor.core.models import Contract, Reading
from monitor.store import HeartbeatState, Store


class HeartbeatContext(Protocol):
    """What this reader needs from the dispatcher's ReadContext."""

    @property
    def settings(self) -> Settings: ...

    @property
    def now(self) -> datetime: ...

    @property
    def store(self) -> object | None: ...


def read_batch(contracts: Sequence[Contract], ctx: HeartbeatContext) -> list[Reading]:
    """One Reading per heartbeat contract, from one query batch; a store that cannot be
    reached gives every contract an `error` reading."""
    started = time.perf_counter()
    names = [c.name for c in contracts]
    store = ctx.store if isinstance(ctx.store, Store) else None
    # `fresh check --at`: pings after it are not seen (optional: not every caller has it).
    as_of: datetime | None = getattr(ctx, "as_of", None)
    try:
        if store is not None:
            states = store.heartbeat_states(names, as_of)
        else:
            with Store.from_settings(ctx.settings) as own:
                states = own.heartbeat_states(names, as_of)
    except FreshError as exc:
        elapsed = time.perf_counter() - started
        return [Reading(n, error=str(exc), duration_seconds=elapsed) for n in names]
    elapsed = (time.perf_counter() - started) / max(len(names), 1)
    return [to_reading(states[n], elapsed) for n in names]


def to_reading(state: HeartbeatState, duration: float = 0.0) -> Reading:
    """What a contract's pings mean as a Reading."""
    return Reading(
        contract=state.name,
        last_update=state.last_success,
        started_at=state.running_since,
        detail=describe(state),
        duration_seconds=duration,
    )


def describe(state: HeartbeatState) -> str | None:
    """The facts behind a heartbeat verdict: failures since the newest success."""
    if state.last_ping is None:
        return "no ping received yet"
    fail = state.last_fail
    if fail is None:
        return None
    # A /start after the /fail is a new run in progress: the failure was the previous run.
    text = "last ping was /fail" if state.running_since is None else "the previous run failed"
    if fail.exit_code is not None:
        text += f", exit code {fail.exit_code}"
    if state.fails_since_success > 1:
        text += f" ({state.fails_since_success} failed runs since the last success)"
    return text


def explain(contract: Contract, ctx: HeartbeatContext) -> str:
    """What is read for `fresh explain`."""
    base = "/api/v1/ping/" + contract.name
    return (
        f"the newest success that job {contract.name!r} reported to the state store "
        f"({ctx.settings.state.url.split('://', 1)[0]}): `fresh ping {contract.name}`, "
        f"`fresh run {contract.name} -- CMD…` or POST {base} (/start, /fail); "
        "a /start never finished within error_after is stale"
    )
