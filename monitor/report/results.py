"""Results of one round of checks: the JSON object of SPEC section 4 and the texts every
human format shares.

`verdict_to_json` builds one result exactly as `fresh check --format json` prints it; the
service's API serves the same object. The formats live in table / junit / github / markdown
and are chosen by `render.render`, which imports only the one asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.core.durations import compact_duration, format_duration
from monitor.core.errors import UsageError
from monitor.core.models import Contract, Status, Verdict

FORMATS = ("table", "json", "junit", "github", "markdown")
FAIL_ON = ("warn", "stale")


@dataclass(frozen=True)
class Result:
    """One contract and its verdict, the unit every format renders."""

    contract: Contract
    verdict: Verdict
    maintenance_until: datetime | None = None  # the end of its maintenance window, if in one


# --- JSON (SPEC section 4) ----------------------------------------------------------------


def iso_z(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with `Z`, to the whole second (`2026-11-24T10:00:00Z`); None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive means UTC everywhere in fresh
        moment = moment.replace(tzinfo=UTC)
    # isoformat() writes the year with four digits, strftime's %Y does not (year 1 → "1").
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def jsonable(value: Any) -> Any:
    """Metadata as JSON: YAML may hold dates, tuples or nested mappings."""
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def value_text(value: Any) -> str:
    """A metadata value as a person reads it: text as is, anything else as JSON (`false`)."""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(jsonable(value), ensure_ascii=False)


def limits(contract: Contract, verdict: Verdict) -> tuple[timedelta | None, timedelta | None]:
    """(warn_after, error_after) in force at the verdict's check: as written, or for a
    `learn` contract the learned ones (the fixed ones while learning; SPEC 13)."""
    exp = contract.expectation
    if exp.learn is None:
        return exp.warn_after, exp.error_after
    return (
        verdict.learned_warn_after or exp.warn_after,
        verdict.learned_error_after or exp.error_after,
    )


def verdict_to_json(
    contract: Contract, verdict: Verdict, maintenance_until: datetime | None = None
) -> dict[str, Any]:
    """One entry of `results`, fields in SPEC order (the API serves the same object)."""
    age = verdict.age_seconds
    warn_after, error_after = limits(contract, verdict)
    out = {
        "contract": contract.name,
        "status": verdict.status.value,
        "owner": contract.owner,
        "severity": contract.severity.value,
        "warehouse": contract.warehouse,
        "tags": list(contract.tags),
        "metadata": jsonable(contract.metadata),
        "last_update": iso_z(verdict.last_update),
        "age_seconds": None if age is None else float(age),
        "warn_after_seconds": _seconds(warn_after),
        "error_after_seconds": _seconds(error_after),
        "deadline": iso_z(verdict.deadline),
        "error": verdict.error,
        "detail": verdict.detail,
        "duration_seconds": round(float(verdict.duration_seconds), 6),
        "origin": origin(contract),
        "maintenance_until": iso_z(maintenance_until),
    }
    if contract.expectation.learn is not None:
        out["learned"] = True  # only on learning contracts: other results keep their shape
    return out


def origin(contract: Contract) -> dict[str, Any]:
    """Where the contract was declared (SPEC 11): its file and line, and for an imported one
    the dbt unique_id or data contract element; null for what does not apply (a manifest is
    one line of JSON: no line)."""
    loc = contract.location
    return {
        "file": loc.path if loc else None,
        "line": loc.line if loc and loc.line > 0 else None,
        "node": contract.node,
    }


def summarize(verdicts: Iterable[Verdict]) -> dict[str, int]:
    """Counts per status, all four always present, in the order of SPEC section 4."""
    counts = {s.value: 0 for s in Status}
    for v in verdicts:
        counts[v.status.value] += 1
    return counts


def report_to_json(checked_at: datetime, results: Sequence[Result]) -> dict[str, Any]:
    """The whole object: `checked_at`, `summary`, `results` (declaration order)."""
    return {
        "checked_at": iso_z(checked_at),
        "summary": summarize(r.verdict for r in results),
        "results": [verdict_to_json(r.contract, r.verdict, r.maintenance_until) for r in results],
    }


# --- helpers shared by the human formats ---------------------------------------------------


def worst_first(results: Iterable[Result]) -> list[Result]:
    """Worst status first, then higher severity, then the earliest deadline (the most overdue
    stale one, the warn or fresh one closest to going stale; no data before any), then name."""
    severity_rank = {"critical": 0, "warning": 1, "info": 2}

    def key(r: Result) -> tuple[int, int, float, str]:
        deadline = r.verdict.deadline
        return (
            -r.verdict.status.rank,
            severity_rank.get(r.contract.severity.value, 3),
            deadline.timestamp() if deadline is not None else float("-inf"),
            r.contract.name,
        )

    return sorted(results, key=key)


def failing_statuses(fail_on: str) -> frozenset[Status]:
    """The statuses that make `fresh check` exit 1 under `--fail-on`."""
    if fail_on not in FAIL_ON:
        raise UsageError(f"invalid --fail-on {fail_on!r} (use warn or stale)")
    bad = {Status.STALE, Status.ERROR}
    if fail_on == "warn":
        bad.add(Status.WARN)
    return frozenset(bad)


def age_text(verdict: Verdict) -> str:
    """`3h 12m`, or `no data`."""
    age = verdict.age_seconds
    return "no data" if age is None else format_duration(age)


def limits_text(contract: Contract) -> str:
    """The thresholds as written in YAML: `20m / 1h`, with the schedule when there is one."""
    e = contract.expectation
    warn = compact_duration(e.warn_after) if e.warn_after else "-"
    err = compact_duration(e.error_after) if e.error_after else "-"
    text = f"{warn} / {err}"
    if e.schedule:
        tz = "" if e.timezone == "UTC" else f" {e.timezone}"
        text += f" after {e.schedule}{tz}"
    return text


def note_text(verdict: Verdict) -> str:
    """One line for a reader: the error, else the verdict's description, plus detail."""
    if verdict.status is Status.ERROR and verdict.error:
        note = verdict.error
    else:
        note = verdict.description or verdict.error or ""
        # evaluate() starts its line with the status, which every format already shows.
        note = note.removeprefix(f"{verdict.status.value}: ")
    if verdict.detail and verdict.detail not in note:
        note = f"{note} ({verdict.detail})" if note else verdict.detail
    return " ".join(note.split())  # one line whatever the source said


def summary_line(results: Sequence[Result], checked_at: datetime) -> str:
    """`13 contracts: 10 fresh, 1 warn, 2 stale, 0 error (checked at …Z)`."""
    counts = summarize(r.verdict for r in results)
    n = len(results)
    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    return f"{n} contract{'' if n == 1 else 's'}: {parts} (checked at {iso_z(checked_at)})"


def display_path(path: str) -> str:
    """A contract file's path relative to the repository (GitHub wants that), when it can."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    for base in (os.environ.get("GITHUB_WORKSPACE"), os.getcwd()):
        if base:
            try:
                return p.relative_to(base).as_posix()
            except ValueError:
                continue
    return p.as_posix()
