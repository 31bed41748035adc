"""`--format markdown`: a summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

Problems come first in a table; fresh contracts are folded in a `<details>` block so a
large project still gives a short comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.core.models import Status
from monitor.report.results import (
    Result,
    age_text,
    iso_z,
    limits_text,
    note_text,
    summarize,
    worst_first,
)

_ICONS = {"fresh": "🟢", "warn": "🟡", "stale": "🔴", "error": "❌"}
_HEADER = "| Status | Contract | Owner | Age | Warn / error | Note |\n|---|---|---|---:|---|---|"


def _cell(text: str) -> str:
    """Table-cell safe: no pipes or newlines, no HTML that GitHub would render."""
    text = " ".join(text.split())
    for a, b in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(a, b)
    return text


def _row(r: Result) -> str:
    v, c = r.verdict, r.contract
    cells = [
        f"{_ICONS[v.status.value]} {v.status.value}",
        f"`{_cell(c.name)}`",
        _cell(c.owner),
        age_text(v),
        _cell(limits_text(c)),
        _cell(note_text(v)),
    ]
    return "| " + " | ".join(cells) + " |"


def render_markdown(results: Sequence[Result], checked_at: datetime) -> str:
    """A heading with the counts, a table of problems, the fresh ones folded."""
    counts = summarize(r.verdict for r in results)
    parts = " · ".join(f"{_ICONS[s]} {n} {s}" for s, n in counts.items())
    ordered = worst_first(results)
    problems = [r for r in ordered if r.verdict.status is not Status.FRESH]
    fine = [r for r in ordered if r.verdict.status is Status.FRESH]
    out = [f"### fresh check: {parts}", "", f"Checked at {iso_z(checked_at)}.", ""]
    if not results:
        out.append("No contracts to check.")
    if problems:
        out += [_HEADER, *(_row(r) for r in problems), ""]
    elif results:
        out += ["All contracts are fresh.", ""]
    if fine:
        n = len(fine)
        out += [
            "<details>",
            f"<summary>{n} fresh contract{'' if n == 1 else 's'}</summary>",
            "",
            _HEADER,
            *(_row(r) for r in fine),
            "",
            "</details>",
        ]
    return "\n".join(out).rstrip("\n") + "\n"
