"""Reading and judging one batch, in a worker thread: the scheduler's ports to the sources
and to `evaluate`, and the rule that one broken warehouse or one contract whose evaluation
raises never stops the others (they get `error` verdicts).

`Scheduler` (scheduler.py) decides when a batch runs and where its verdicts go; `Judge`
turns a batch of contracts into verdicts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.clock import Clock
from monitor.core.models import Contract, Reading, Verdict
from monitor.serve.plan import failed_verdict

log = logging.getLogger("fresh.scheduler")  # the scheduler's logger: same events as before

ReadFn = Callable[[list[Contract], datetime], Mapping[str, Reading]]
EvaluateFn = Callable[[Contract, Reading, datetime], Verdict]
Observer = Callable[[Contract, Reading | None, Verdict], None]
# `learn` contracts (SPEC 13): the update history of each, given the batch's readings.
HistoryFn = Callable[[list[Contract], Mapping[str, Reading], datetime], Mapping[str, Any]]


@dataclass(frozen=True)
class Judge:
    """Reads a batch of one warehouse (`read`), judges each reading (`evaluate`, with the
    learned history of `learn` contracts from `history`), and shows each reading and verdict
    to `observe` (metrics)."""

    clock: Clock
    read: ReadFn
    evaluate: EvaluateFn
    observe: Observer | None = None
    history: HistoryFn | None = None

    def __call__(self, contracts: list[Contract]) -> tuple[list[Verdict], set[str]]:
        """In a worker thread: read one warehouse's batch, evaluate each reading; the
        verdicts, and the names whose evaluation raised (they are retried with back-off)."""
        now = self.clock.now()
        raised: set[str] = set()
        try:
            readings: Mapping[str, Reading] = self.read(contracts, now)
        except Exception as exc:  # one broken warehouse: its contracts are `error`
            log.warning(
                "read failed",
                extra={
                    "event": "read_failed",
                    "warehouse": contracts[0].warehouse,
                    "error": str(exc),
                },
            )
            message = f"{type(exc).__name__}: {exc}"
            readings = {c.name: Reading(contract=c.name, error=message) for c in contracts}
        now = self.clock.now()  # judge at the time the data was seen, never before a deadline
        histories = self._histories(contracts, readings, now)
        verdicts = []
        for c in contracts:
            reading = readings.get(c.name) or Reading(c.name, error="no reading returned")
            try:
                if c.name in histories:
                    verdict = self.evaluate(c, reading, now, histories[c.name])  # type: ignore[call-arg]
                else:
                    verdict = self.evaluate(c, reading, now)
            except Exception as exc:
                log.warning(
                    "evaluation raised",
                    extra={"event": "evaluate_failed", "contract": c.name, "error": str(exc)},
                )
                raised.add(c.name)
                verdict = failed_verdict(c, now, f"{type(exc).__name__}: {exc}")
            if self.observe is not None:
                self.observe(c, reading, verdict)
            verdicts.append(verdict)
        return verdicts, raised

    def _histories(
        self, contracts: list[Contract], readings: Mapping[str, Reading], now: datetime
    ) -> Mapping[str, Any]:
        """The learned history of the batch's `learn` contracts; {} when none or it failed
        (they then judge as still learning, and the failure is logged)."""
        if self.history is None or not any(c.expectation.learn for c in contracts):
            return {}
        try:
            return self.history(contracts, readings, now)
        except Exception as exc:
            log.warning(
                "learned history failed",
                extra={"event": "history_failed", "error": str(exc)},
            )
            return {}
