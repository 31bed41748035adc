"""The alert lifecycle of one contract, as pure functions of (state, status, now).

An alert *opens* when a contract enters a status in `notify_on`, and *closes* when it
leaves them all. Each step that the owner should hear about is a `Transition`:

- `fired`    the contract entered a `notify_on` status (fresh → stale)
- `changed`  it moved between two of them (stale → error)
- `repeated` it stayed, `repeat_every` after the last one (or a silence on it ended)
- `resolved` it left them all (sent only when `send_resolved` and the alert was announced)
- `closed`   the contract was removed from the configuration: closed silently

`AlertState` (a core value, monitor/core/models.py) is what the store keeps per contract,
so a restart forgets nothing: the status the alerts last saw, the transition counter `seq`
((contract, seq) is unique in the store, and every write is a compare-and-set on
`version`), the episode number, and when the next repeat is due. Nothing here reads a
clock or the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.core.models import AlertState, Status

__all__ = ["AlertState", "Kind", "Policy", "Transition", "close", "step"]


class Kind(StrEnum):
    """What a transition tells the owner."""

    FIRED = "fired"
    CHANGED = "changed"
    REPEATED = "repeated"
    RESOLVED = "resolved"
    CLOSED = "closed"


@dataclass(frozen=True)
class Policy:
    """The lifecycle settings that apply to one contract (owner override included)."""

    notify_on: frozenset[Status] = frozenset({Status.STALE, Status.ERROR})
    repeat_every: timedelta = timedelta(hours=4)
    send_resolved: bool = True

    @classmethod
    def of(
        cls,
        notify_on: Iterable[str],
        repeat_every: timedelta,
        send_resolved: bool,
        owner_repeat_every: timedelta | None = None,
    ) -> Policy:
        """Build a policy from `alerts:` settings and the owner's `repeat_every`."""
        return cls(
            notify_on=frozenset(Status(s) for s in notify_on),
            repeat_every=owner_repeat_every or repeat_every,
            send_resolved=send_resolved,
        )

    def alerting(self, status: Status | None) -> bool:
        """Whether `status` pages the owner."""
        return status is not None and status in self.notify_on


@dataclass(frozen=True)
class Transition:
    """One step the owner should hear about, keyed (contract, seq)."""

    contract: str
    seq: int
    episode: int
    kind: Kind
    status: Status
    previous: Status | None
    at: datetime
    reason: str = ""  # why a repeat happened ("silence ended"), for the message


def _next(
    state: AlertState, kind: Kind, status: Status, now: datetime, reason: str = ""
) -> Transition:
    return Transition(
        contract=state.contract,
        seq=state.seq + 1,
        episode=state.episode,
        kind=kind,
        status=status,
        previous=state.status,
        at=now,
        reason=reason,
    )


def step(
    state: AlertState,
    status: Status,
    now: datetime,
    policy: Policy,
    *,
    silenced: bool = False,
) -> tuple[AlertState, Transition | None]:
    """Advance one contract's alert to `status` at `now`.

    Returns the new state and the transition to record (None when nothing happens).
    Idempotent: stepping again with the same status and time records nothing, so a
    restart or a second worker that replays a step is harmless. `silenced` says whether an
    active silence matches the contract now: a muted alert whose silence has ended gets one
    `repeated` transition at once.
    """
    was, now_alerting = policy.alerting(state.status), policy.alerting(status)
    if status != state.status:
        if now_alerting and not state.open:
            opened = replace(state, episode=state.episode + 1)
            t = _next(opened, Kind.FIRED, status, now)
            return _after(opened, t, status, open_=True, policy=policy), t
        if now_alerting:  # open, and moved between two notify_on statuses
            t = _next(state, Kind.CHANGED, status, now)
            return _after(state, t, status, open_=True, policy=policy), t
        if state.open:  # left every notify_on status
            t = _next(state, Kind.RESOLVED, status, now)
            return _after(state, t, status, open_=False, policy=policy), t
        # e.g. fresh → warn with warn not in notify_on: remember, say nothing
        return replace(state, status=status, version=state.version + 1), None
    if not state.open or not was:
        return state, None
    if state.muted and not silenced:
        t = _next(state, Kind.REPEATED, status, now, reason="silence ended")
        return _after(state, t, status, open_=True, policy=policy), t
    if state.next_repeat_at is not None and now >= state.next_repeat_at:
        t = _next(state, Kind.REPEATED, status, now)
        return _after(state, t, status, open_=True, policy=policy), t
    return state, None


def _after(
    state: AlertState, t: Transition, status: Status, *, open_: bool, policy: Policy
) -> AlertState:
    return replace(
        state,
        status=status,
        seq=t.seq,
        open=open_,
        next_repeat_at=t.at + policy.repeat_every if open_ else None,
        muted=False if t.kind is not Kind.REPEATED or t.reason else state.muted,
        version=state.version + 1,
    )


def close(state: AlertState, now: datetime) -> tuple[AlertState, Transition | None]:
    """Close the open alert of a contract removed from the configuration (never sent)."""
    if not state.open:
        return state, None
    t = Transition(
        contract=state.contract,
        seq=state.seq + 1,
        episode=state.episode,
        kind=Kind.CLOSED,
        status=state.status or Status.FRESH,
        previous=state.status,
        at=now,
        reason="removed from the configuration",
    )
    closed = replace(
        state, seq=t.seq, open=False, next_repeat_at=None, muted=False, version=state.version + 1
    )
    return closed, t

