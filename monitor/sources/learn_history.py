"""The history a `learn` contract learns from (SPEC 13): the state store's cache, filled by
a backfill from the source on first use and by every reading fresh takes.

`histories()` is what `fresh check` and `fresh serve` call before judging: per `learn`
contract, the backfill reads only what lies after the cache's coverage marker (nothing when
`--at` is at or before it), the reading's update joins the cache, and the update times in
[now - window, now] come back. `--at` cuts everything there.

How each kind backfills is its own module, picked by monitor.sources.registry
`backfiller_of`: table/files + column the distinct minutes of the column (sql/backfill.py,
files/backfill.py), files without column the files' times, run logs their successful runs
(run_log/backfill.py), heartbeats and OpenLineage their successful runs in the state store
(store_backfill.py), Delta and Iceberg their data commits (lake/backfill.py). `query` and
metadata contracts learn only from what fresh observes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from monitor.config.settings import Settings
from monitor.core.models import Contract, Reading
from monitor.sources.base import Backfilled, Due, ReadContext, describe
from monitor.sources.registry import BackfillKind, backfiller_of

# Backfill kinds that read the update times after the coverage marker (see histories()).
_BY_TIME = frozenset({"sql", "store", "lake"})


def learners(contracts: Sequence[Contract]) -> list[Contract]:
    """The contracts with `learn`."""
    return [c for c in contracts if c.expectation.learn is not None]


def histories(
    store: Any,
    contracts: Sequence[Contract],
    readings: Mapping[str, Reading],
    settings: Settings,
    now: datetime,
) -> tuple[dict[str, Sequence[float]], dict[str, str]]:
    """(update times in epoch seconds per `learn` contract as of `now`, oldest first,
    backfill problems per contract).

    A backfill that fails leaves the coverage marker where it was (the next check tries
    again) and is reported, not fatal: the contract still learns from what is cached.
    """
    learning = learners(contracts)
    if not learning:
        return {}, {}
    names = [c.name for c in learning]
    covered = store.learn_coverage(names)
    found: dict[str, list[float]] = {}
    marks: dict[str, datetime] = {}
    problems: dict[str, str] = {}
    due: dict[tuple[BackfillKind, str], list[Due]] = {}  # (kind, warehouse) → backfills
    for c in learning:
        learn = c.expectation.learn
        assert learn is not None
        since = covered.get(c.name)
        last = readings.get(c.name, Reading(c.name)).last_update
        # The kind is looked up only for a backfill that is due: a check whose `now` the
        # cache already covers (a repeat, an earlier `--at`) does no per-contract work here.
        if learn.backfill and (since is None or since < now):
            kind = backfiller_of(c)
            # Nor is the source asked when the reading says its newest update is no later
            # than what the cache covers, for the kinds whose backfill reads update times
            # after the marker (the reading is the newest of those): a check every few
            # minutes then queries only the contracts that changed. Files and run logs read
            # what was written after the marker, which may hold older times: always asked.
            nothing_new = (
                kind is not None and kind.key in _BY_TIME
                and since is not None and last is not None and last <= since
            )
            if kind is not None and not nothing_new:
                due.setdefault((kind, c.warehouse), []).append((c, since or now - learn.window))
        if last is not None and last <= now:
            found.setdefault(c.name, []).append(last.timestamp())
    for (kind, warehouse), todo in due.items():
        for c, got in _backfill(kind, warehouse, todo, store, settings, now):
            if isinstance(got, str):
                problems[c.name] = f"backfill failed: {got}"
            else:
                found.setdefault(c.name, []).extend(got)
                marks[c.name] = now
    since = {c.name: now - c.expectation.learn.window for c in learning if c.expectation.learn}
    out = store.add_and_read_learned(found, marks, since, now)
    return out, problems


def keep_after(
    contracts: Sequence[Contract], retention: timedelta, now: datetime
) -> dict[str, datetime]:
    """Per `learn` contract, the oldest update worth keeping: max(window, retention) back."""
    return {
        c.name: now - max(c.expectation.learn.window, retention)
        for c in contracts
        if c.expectation.learn is not None
    }


def _backfill(
    kind: BackfillKind,
    warehouse: str,
    due: list[Due],
    store: Any,
    settings: Settings,
    now: datetime,
) -> list[Backfilled]:
    """One kind's backfills of one warehouse, read as of `now` (nothing after it); a kind
    that cannot load or blows up gives every contract the reason."""
    ctx = ReadContext(settings=settings, now=now, warehouse=warehouse, store=store, as_of=now)
    try:
        done = kind.load().backfill(due, ctx)
    except ImportError as exc:
        return [(c, f"not available here ({exc})") for c, _ in due]
    except Exception as exc:
        return [(c, describe(exc)) for c, _ in due]
    seen = {c.name for c, _ in done}
    return done + [(c, "not read") for c, _ in due if c.name not in seen]
