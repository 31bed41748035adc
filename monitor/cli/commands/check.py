"""`fresh check`: load the project, read the selected contracts once, judge them at `now`
(or `--at`), report in one of five formats, and exit 0, 1 (something failed per
`--fail-on`) or 2 (bad configuration or usage).

Only what the chosen path needs is imported: the report formats, rich (for a progress bar on
a terminal) and the state store (for heartbeat contracts) load lazily.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.cli.outcome import echo, isatty, silence
from monitor.config.loader import load_project
from monitor.config.settings import Settings
from monitor.core.clock import SystemClock
from monitor.core.errors import ExitCode, UsageError
from monitor.core.evaluate import error_verdict, evaluate
from monitor.core.models import Contract, Reading, Verdict
from monitor.report.render import render
from monitor.report.results import FORMATS, Result, failing_statuses, summary_line
from monitor.sources import read_contracts
from monitor.sources.sql import duckdb_handles

# Fewer contracts than this finish before a progress bar would be worth drawing.
PROGRESS_THRESHOLD = 50


# Source kinds read from the state store (pings; OpenLineage events that serve received).
STORE_KINDS = ("heartbeat", "openlineage")


def parse_at(text: str) -> datetime:
    """`--at`: ISO-8601 (`Z` or an offset; naive means UTC; a date alone is midnight UTC)."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"invalid --at {text!r}: use an ISO-8601 time such as 2026-11-24T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:  # CliRunner tests run in this same process
            gc.enable()


def check_command(
    config: Path | None = None,
    checks: Path | None = None,
    select: Sequence[str] = (),
    fmt: str = "table",
    output: Path | None = None,
    fail_on: str = "stale",
    at: str | None = None,
    *,
    ends_process: bool = False,
) -> int:
    """Run `fresh check`; returns the exit code. `ends_process`: the process ends right
    after (the console script), so DuckDB files closing behind it are not waited for."""
    # Usage first: a typo in an option must not cost a warehouse round trip.
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r} (use {', '.join(FORMATS)})")
    failing = failing_statuses(fail_on)
    now = parse_at(at) if at is not None else _now()

    # DuckDB warehouses open on a thread while the contracts are parsed, and close on one
    # while the verdicts are rendered (~60 ms of ~250 for 1,000 contracts).
    with duckdb_handles.one_shot(wait=not ends_process):
        project = load_project(config, checks, on_settings=_warm)
        for problem in project.warnings:
            echo(str(problem), err=True)
        contracts = project.select(select)
        if select and not contracts:
            # In CI a mistyped selector would otherwise pass silently with nothing checked.
            raise UsageError(f"no contract matches --select {' '.join(select)}")

        # A one-shot command allocates many small objects and frees them at exit: the cyclic
        # collector only costs time here (~25 ms per 1,000 contracts, ~250 ms per 10,000).
        with _gc_paused():
            results = run_checks(contracts, project.settings, now, as_of=now if at else None)
            results = with_maintenance(results, project, now)
            to_terminal = output is None and isatty(sys.stdout)
            color = to_terminal and fmt == "table" and not os.environ.get("NO_COLOR")
            text = render(fmt, results, now, fail_on, color=color)
    if output is None:
        _write_stdout(text)
    else:
        write_atomically(output, text)
        echo(f"wrote {fmt} report to {output}: {summary_line(results, now)}", err=True)
    if fmt == "github":
        _append_step_summary(results, now)

    failed = any(r.verdict.status in failing for r in results)
    return int(ExitCode.FAILED if failed else ExitCode.OK)


def _warm(settings: Settings) -> None:
    duckdb_handles.warm({n: w.url for n, w in settings.warehouses.items()}, settings.base_dir)


def with_maintenance(results: list[Result], project: Any, now: datetime) -> list[Result]:
    """Mark the results of contracts in a maintenance window at `now` (`maintenance_until`)."""
    windows = project.settings.alerts.maintenance
    if not windows:
        return results
    # imported here: it brings cronsim, which a config without windows never needs
    from monitor.alerts.maintenance import until_by_contract

    ends = until_by_contract(windows, [r.contract for r in results], now)
    return [replace(r, maintenance_until=ends.get(r.contract.name)) for r in results]


def run_checks(
    contracts: Sequence[Contract], settings: Any, now: datetime, as_of: datetime | None = None
) -> list[Result]:
    """Read every contract and judge it at `now`, in declaration order; with `as_of`
    (`--at`), every source is read as it stood then."""
    # Each reading is judged as it arrives, while the other reads still run; a verdict is
    # kept only if its reading is the one finally used and no learned history applies.
    by_name = {c.name: c for c in contracts}
    early: dict[str, tuple[Reading, Verdict]] = {}

    def judge_early(reading: Reading) -> None:
        contract = by_name.get(reading.contract)
        if contract is not None:
            early[reading.contract] = (reading, _judge(evaluate, contract, reading, now))

    readings = _read(contracts, settings, now, as_of, judge_early)
    histories = _histories(contracts, settings, readings, now)
    results = []
    for c in contracts:
        reading = readings.get(c.name) or Reading(c.name, error="the source was not read")
        history = histories.get(c.name, ())
        judged = early.get(c.name)
        if judged is not None and judged[0] is reading and not history:
            results.append(Result(c, judged[1]))
        else:
            results.append(Result(c, _judge(evaluate, c, reading, now, history)))
    return results


def _histories(
    contracts: Sequence[Contract], settings: Any, readings: dict[str, Reading], now: datetime
) -> dict[str, Sequence[float]]:
    """The learned history of each `learn` contract (SPEC 13), from the state store's cache,
    filled from the sources and the readings just taken. A store that cannot be opened
    makes those contracts `error` (their history lives there)."""
    from monitor.sources.learn_history import histories, learners

    learning = learners(contracts)
    if not learning:
        return {}
    try:
        from monitor.store import Store

        with Store.from_settings(settings) as store:
            found, problems = histories(store, learning, readings, settings, now)
    except Exception as exc:
        why = f"the state store could not be opened for the learned history: {exc}"
        for c in learning:
            readings[c.name] = Reading(c.name, error=why)
        return {}
    for name, why in problems.items():
        old = readings.get(name)
        if old is not None and old.error is None:
            detail = f"{old.detail}; {why}" if old.detail else why
            readings[name] = Reading(
                name, old.last_update, None, detail, old.started_at, old.duration_seconds
            )
    return found


def _judge(
    evaluate: Callable[[Contract, Reading, datetime, Sequence[float]], Verdict],
    contract: Contract,
    reading: Reading,
    now: datetime,
    history: Sequence[float] = (),
) -> Verdict:
    try:
        return evaluate(contract, reading, now, history)
    except Exception as exc:  # one broken contract must not hide the report of the others
        why = f"could not evaluate: {exc}"
        return error_verdict(
            contract, now, why, why, reading.last_update, reading.duration_seconds
        )


def _read(
    contracts: Sequence[Contract],
    settings: Any,
    now: datetime,
    as_of: datetime | None,
    arrived: Callable[[Reading], None],
) -> dict[str, Reading]:
    store, store_error = _open_store(contracts, settings)
    progress = _Progress(len(contracts)) if _wants_progress(len(contracts)) else None
    try:

        def on_read(reading: Reading) -> None:
            arrived(reading)
            if progress:
                progress.advance(reading)

        try:
            readings = dict(
                read_contracts(contracts, settings, now, store=store, on_read=on_read, as_of=as_of)
            )
        except Exception:
            # A source kind that blew up for the whole batch: read one by one, so only the
            # contracts it concerns become `error` and the others still get their verdict.
            readings = {}
            for c in contracts:
                try:
                    readings.update(read_contracts([c], settings, now, store=store, as_of=as_of))
                except Exception as exc:
                    readings[c.name] = Reading(c.name, error=f"{type(exc).__name__}: {exc}")
    finally:
        if progress:
            progress.close()
        if store is not None:
            store.close()
    if store_error is not None:
        for c in contracts:
            if c.kind in STORE_KINDS:
                readings[c.name] = Reading(c.name, error=store_error)
    return readings


def _open_store(contracts: Sequence[Contract], settings: Any) -> tuple[Any, str | None]:
    """The state store, opened only when a heartbeat contract needs its pings (SQLAlchemy
    is then imported; a run without heartbeats never pays for it)."""
    if not any(c.kind in STORE_KINDS for c in contracts):
        return None, None
    try:
        from monitor.store import Store

        return Store.from_settings(settings), None
    except Exception as exc:
        return None, f"the state store could not be opened: {exc}"


def _now() -> datetime:
    return SystemClock().now()


def _wants_progress(n: int) -> bool:
    """A bar only for a person watching: stderr a terminal, not CI, many contracts."""
    if n < PROGRESS_THRESHOLD or os.environ.get("CI"):
        return False
    return isatty(sys.stderr)


class _Progress:
    """A rich progress bar on stderr (rich imported only here)."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("checking"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._bar.add_task("check", total=total)
        self._bar.start()

    def advance(self, *_: Any) -> None:
        self._bar.advance(self._task)

    def close(self) -> None:
        self._bar.stop()


def _write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence(sys.stdout)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename: never half-written."""
    import tempfile

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _append_step_summary(results: Sequence[Result], now: datetime) -> None:
    """With `--format github` in GitHub Actions, add the markdown summary to the job page."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as f:
            f.write(render("markdown", results, now))
    except OSError as exc:
        echo(f"warning: cannot append to $GITHUB_STEP_SUMMARY: {exc}", err=True)
