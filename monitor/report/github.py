"""`--format github`: workflow commands GitHub Actions turns into annotations.

`::error file=checks/x.yml,line=N,col=C,title=…::message` for stale and error (and warn under
`--fail-on warn`), `::warning …` for warn. GitHub hides these lines from the log, so the
plain table follows them for whoever reads the log. When `$GITHUB_STEP_SUMMARY` is set,
`fresh check` also appends the markdown summary there (see cli/commands/check.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from monitor.core.models import Status
from monitor.report.results import Result, display_path, note_text, worst_first
from monitor.report.table import render_table


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(r: Result, failing: Collection[Status]) -> str | None:
    """One workflow command for a result, or None for a fresh one."""
    status = r.verdict.status
    if status is Status.FRESH:
        return None
    level = "error" if status in failing or status is Status.ERROR else "warning"
    props = []
    loc = r.contract.location
    if loc is not None:
        props += [f"file={_escape_property(display_path(loc.path))}", f"line={loc.line}"]
        props.append(f"col={loc.col}")
    title = f"{r.contract.name} is {status.value} (owner {r.contract.owner})"
    props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(note_text(r.verdict))}"


def render_github(
    results: Sequence[Result], checked_at: datetime, failing: Collection[Status]
) -> str:
    """Annotations, worst first, then the plain table for the log."""
    lines = [a for r in worst_first(results) if (a := annotation(r, failing)) is not None]
    head = "\n".join(lines) + "\n" if lines else ""
    return head + render_table(results, checked_at)
