"""`run_log` contracts: the newest *successful* run of a job in a run log.

Three kinds of log, one rule:
- a table in the contract's warehouse (plain columns, or the `airflow` preset's `dag_run`):
  monitor.sources.run_log.table;
- JSON-lines files (`file: logs/runs/*.jsonl`): monitor.sources.run_log.files;
- dbt `run_results.json` files (`preset: dbt`): monitor.sources.run_log.files.

The rule (`summarize`): the newest run whose status is in `success` is the last update.
Runs *after* it whose status is in `failure` are counted in `detail` ("2 failed runs since
the last success"). Any other status (running, queued, skipped, or a status nobody
declared) never counts as a success or a failure; runs after the newest success with such
a status are still mentioned in `detail` ("other runs since: 'running' (1)"), and when there is no
success at all every status seen is listed, so a misspelt `success:` list shows itself.
Runs without a time are ignored (a running Airflow dag_run has no end_date yet).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from monitor.core.models import Contract, Reading, RunLogSource


@dataclass(frozen=True)
class JobRuns:
    """What a run log says about one job: its newest success and the statuses after it.

    `since` counts runs newer than `newest_success` by status (every run when there was
    no success); `total` is every run of the job seen, success or not.
    """

    newest_success: datetime | None
    since: Counter[str]
    total: int


def source_of(contract: Contract) -> RunLogSource:
    """The contract's RunLogSource (TypeError for another kind)."""
    if not isinstance(contract.source, RunLogSource):
        raise TypeError(f"{contract.name} is not a run_log contract")
    return contract.source


def is_dbt(src: RunLogSource) -> bool:
    """True when the log is dbt's run_results.json files."""
    return src.preset == "dbt"


def summarize(runs: Iterable[tuple[str, datetime | None]], success: Iterable[str]) -> JobRuns:
    """Fold (status, time) runs of one job into its newest success and what came after.

    One pass, keeping only the other runs newer than the newest success seen so far
    (pruned whenever they have doubled), so a log of millions of runs costs memory for the
    runs since its last success, not for every line.
    """
    ok = set(success)
    newest: datetime | None = None
    total = 0
    later: list[tuple[datetime, str]] = []  # not-success runs, maybe newer than `newest`
    kept = 0  # len(later) after the last prune
    for status, at in runs:
        if at is None:
            continue
        total += 1
        if status in ok:
            if newest is None or at > newest:
                newest = at
        elif newest is None or at > newest:
            later.append((at, status))
            if len(later) > 2 * kept + 1024 and newest is not None:
                later = [(t, s) for t, s in later if t > newest]
                kept = len(later)
    since = Counter(s for t, s in later if newest is None or t > newest)
    return JobRuns(newest, since, total)


def reading_for(contract: Contract, runs: JobRuns, where: str) -> Reading:
    """The Reading of one job's runs; `where` names the log for messages."""
    src = source_of(contract)
    failed = sum(n for status, n in runs.since.items() if status in src.failure)
    others = {s: n for s, n in runs.since.items() if s not in src.failure}
    if runs.total == 0:
        return Reading(contract.name, detail=f"no run of job {src.job!r} in {where}")
    if runs.newest_success is None:
        parts = [f"no successful run of job {src.job!r} in {where}"]
        if failed:
            parts.append(_failed(failed, "in the log"))
        if others:
            parts.append(
                f"other statuses seen: {_statuses(others)} (success is {_words(src.success)})"
            )
        return Reading(contract.name, detail="; ".join(parts))
    parts = []
    if failed:
        parts.append(_failed(failed, "since the last success"))
    if others:
        lead = "other runs since" if failed else "since the last success"
        parts.append(f"{lead}: {_statuses(others)}")
    return Reading(contract.name, last_update=runs.newest_success, detail="; ".join(parts) or None)


def _failed(n: int, when: str) -> str:
    return f"{n} failed run{'s' if n != 1 else ''} {when}"


def _statuses(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{s!r} ({n})" for s, n in ordered)


def _words(values: Iterable[str]) -> str:
    return "[" + ", ".join(values) + "]"
