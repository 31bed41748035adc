"""`fresh check --format X`: one report of one round of checks, in the format asked for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.core.errors import UsageError
from monitor.report.results import FORMATS, Result, failing_statuses, report_to_json


def render(
    fmt: str,
    results: Sequence[Result],
    checked_at: datetime,
    fail_on: str = "stale",
    color: bool = False,
) -> str:
    """The report in `fmt` as text (ending with a newline)."""
    failing = failing_statuses(fail_on)
    if fmt == "json":
        import json

        return json.dumps(report_to_json(checked_at, results), ensure_ascii=False) + "\n"
    # Each format is imported only when asked for (rich, xml): `fresh check --format json`
    # pays for none of them.
    if fmt == "table":
        from monitor.report.table import render_table

        return render_table(results, checked_at, color=color)
    if fmt == "junit":
        from monitor.report.junit import render_junit

        return render_junit(results, checked_at, failing)
    if fmt == "github":
        from monitor.report.github import render_github

        return render_github(results, checked_at, failing)
    if fmt == "markdown":
        from monitor.report.markdown import render_markdown

        return render_markdown(results, checked_at)
    raise UsageError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
