"""`--format table`: aligned plain text, worst first, status coloured on a terminal.

Written by hand rather than with rich's Table: it renders 1,000 rows in milliseconds, reads
the same in a pipe or a CI log, and costs no import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.core.textsafe import terminal_safe
from monitor.report.results import (
    Result,
    age_text,
    limits_text,
    note_text,
    summary_line,
    worst_first,
)

_HEADERS = ("STATUS", "CONTRACT", "OWNER", "AGE", "WARN / ERROR", "NOTE")
_COLORS = {"fresh": "32", "warn": "33", "stale": "31", "error": "1;31"}


def render_table(results: Sequence[Result], checked_at: datetime, color: bool = False) -> str:
    """The table and a summary line; ANSI colours on the status only when `color`."""
    # Every cell goes through terminal_safe: a name, an owner or a warehouse's error text
    # may hold ESC, newlines or bidi overrides that would repaint or forge the table.
    rows = [
        (
            r.verdict.status.value,
            terminal_safe(r.contract.name),
            terminal_safe(r.contract.owner),
            age_text(r.verdict),
            limits_text(r.contract),
            terminal_safe(note_text(r.verdict)),
        )
        for r in worst_first(results)
    ]
    lines = []
    if rows:
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(_HEADERS)]
        lines.append(_line(_HEADERS, widths))
        for row in rows:
            text = _line(row, widths)
            if color:
                status = row[0]
                painted = f"\x1b[{_COLORS[status]}m{status}\x1b[0m"
                text = painted + text[len(status) :]
            lines.append(text)
        lines.append("")
    else:
        lines.append("No contracts to check.")
    lines.append(terminal_safe(summary_line(results, checked_at)))
    return "\n".join(lines) + "\n"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    # The last column is never padded, so lines carry no trailing spaces.
    padded = [c.ljust(w) for c, w in zip(cells[:-1], widths[:-1], strict=True)]
    return "  ".join([*padded, cells[-1]]).rstrip()
