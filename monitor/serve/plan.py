"""The pure planning part of the scheduler: what is due at `now` and when to wake next.

Takes `now` as a value; unit-tested with a FakeClock (tests/unit/test_scheduler.py).
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

from monitor.core.durations import doubling
from monitor.core.evaluate import error_verdict
from monitor.core.models import Contract, Verdict

#: first retry after an evaluation that raised; doubles per failure, capped at check_every
RETRY_FIRST = timedelta(seconds=5)


# --- The pure planning part ---------------------------------------------------------------


class Plan:
    """A min-heap of next-due times, one live entry per contract.

    Rescheduling pushes a new entry and bumps the contract's generation; older entries are
    skipped when popped (lazy deletion keeps every operation O(log n)).
    """

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._gen: dict[str, int] = {}
        self._due: dict[str, datetime] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._due

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, name: str, at: datetime) -> None:
        """(Re)schedule `name` at `at`, replacing any earlier plan for it."""
        gen = self._gen.get(name, 0) + 1
        self._gen[name] = gen
        self._due[name] = at
        heapq.heappush(self._heap, (at, gen, name))
        if len(self._heap) > 4 * len(self._due) + 64:
            self._compact()

    def remove(self, name: str) -> None:
        """Forget `name` (a contract removed from the configuration, or in flight)."""
        self._due.pop(name, None)
        self._gen[name] = self._gen.get(name, 0) + 1

    def due_at(self, name: str) -> datetime | None:
        """When `name` is next due, or None when it is not planned."""
        return self._due.get(name)

    def pop_due(self, now: datetime) -> list[str]:
        """Every contract due at or before `now`, earliest first; they leave the plan."""
        out: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            at, gen, name = heapq.heappop(self._heap)
            if self._gen.get(name) == gen and self._due.get(name) == at:
                del self._due[name]
                out.append(name)
        return out

    def next_wake(self) -> datetime | None:
        """The earliest planned time, or None when nothing is planned."""
        while self._heap:
            at, gen, name = self._heap[0]
            if self._gen.get(name) == gen and self._due.get(name) == at:
                return at
            heapq.heappop(self._heap)
        return None

    def _compact(self) -> None:
        self._heap = [(at, self._gen[n], n) for n, at in self._due.items()]
        heapq.heapify(self._heap)


def round_after(natural: datetime, every: timedelta, started: datetime, now: datetime) -> datetime:
    """When a contract read in a batch dispatched at `started` and saved at `now` is next due.

    `check_every` counts from start to start: counted from the end, every round would come
    later by the time it took to read and save, and a loaded replica would poll ever less
    often than configured. A deadline (`natural`, from `next_check_at`) still comes first;
    a batch slower than half the interval gets half an interval's pause, not none.
    """
    return min(natural, max(started + every, now + every / 2))


def retry_at(contract: Contract, failures: int, now: datetime) -> datetime:
    """When to retry a contract whose evaluation raised `failures` times in a row."""
    return now + doubling(RETRY_FIRST, failures, contract.check_every)


def failed_verdict(contract: Contract, now: datetime, message: str) -> Verdict:
    """The `error` verdict recorded when reading or evaluating a contract raised."""
    return error_verdict(contract, now, message, f"could not be checked: {message}")
