"""The status page (`GET /`) and a page per contract, rendered on the server.

Pure functions: they take the result objects of `fresh check --format json` (SPEC section 4,
the same dicts `/api/v1/contracts` serves) plus recent history, and return HTML. No external
assets (the machine may be offline), no JavaScript: refresh is a `<meta http-equiv>`, filters
are a plain GET form. One stylesheet serves a 375 px phone (rows become cards) and a desktop.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from monitor.core.durations import format_duration
from monitor.core.links import safe_link
from monitor.core.models import Status

STATUSES = ("error", "stale", "warn", "fresh")
_RANK = {s.value: s.rank for s in Status}  # Status owns the order
_COLOUR = {"fresh": "#1a7f37", "warn": "#b08800", "stale": "#cf222e", "error": "#8250df"}


@dataclass(frozen=True)
class Filters:
    """What the query string asks for; each list is OR-ed, lists are AND-ed."""

    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def keep(self, row: Mapping[str, Any]) -> bool:
        """True when `row` passes every filter given."""
        return (
            (not self.owners or row.get("owner") in self.owners)
            and (not self.tags or any(t in self.tags for t in row.get("tags") or ()))
            and (not self.statuses or row.get("status") in self.statuses)
        )

    def query(self) -> str:
        """The filters as a query string (for links that keep them)."""
        pairs = [("owner", o) for o in self.owners] + [("tag", t) for t in self.tags]
        pairs += [("status", s) for s in self.statuses]
        return urlencode(pairs)


@dataclass(frozen=True)
class PageOptions:
    """Things the page shows beside the contracts."""

    refresh_seconds: int = 30
    dashboard_url: str | None = None
    title: str = "fresh"
    links: Mapping[str, str] = field(default_factory=dict)


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def _utc(ts: str | None) -> str:
    when = _parse(ts)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "never"


def age_text(row: Mapping[str, Any], now: datetime) -> str:
    """How old the newest data is right now ("3h 12m"), or "no data"."""
    last = _parse(row.get("last_update"))
    return "no data" if last is None else format_duration(now - last)


def limit_text(row: Mapping[str, Any]) -> str:
    """The limits as written: "warn 20m · stale 1h"."""
    parts = []
    if row.get("warn_after_seconds") is not None:
        parts.append(f"warn {format_duration(row['warn_after_seconds'])}")
    if row.get("error_after_seconds") is not None:
        parts.append(f"stale {format_duration(row['error_after_seconds'])}")
    return " · ".join(parts)


def sort_worst_first(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """error and stale first, then warn, then fresh; within a status the earliest deadline
    (the most overdue) first, then by name."""

    def key(row: Mapping[str, Any]) -> tuple[int, str, str]:
        deadline = row.get("deadline") or ""
        return (-_RANK.get(str(row.get("status")), 0), deadline or "~", str(row["contract"]))

    return sorted(rows, key=key)


def spark_svg(history: Sequence[str], width: int = 96, height: int = 16) -> str:
    """Recent statuses (oldest first) as small coloured bars in an inline SVG."""
    if not history:
        return '<svg class="spark" width="96" height="16" aria-label="no history"></svg>'
    n = len(history)
    bar = width / n
    rects = "".join(
        f'<rect x="{i * bar:.1f}" y="{0 if s != "fresh" else height / 2:.0f}" '
        f'width="{max(bar - 1, 1):.1f}" height="{height if s != "fresh" else height / 2:.0f}" '
        f'fill="{_COLOUR.get(s, "#999")}"><title>{escape(s)}</title></rect>'
        for i, s in enumerate(history)
    )
    label = escape(f"last {n} checks: " + ", ".join(history[-5:]))
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}">{rects}</svg>'
    )


_CSS = """
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",
sans-serif;color:#1f2328;background:#f6f8fa}header{background:#24292f;color:#fff;padding:
.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}header h1{font-size:
1.1rem;margin:0}header a{color:#fff}main{padding:.75rem;max-width:1200px;margin:auto}
.counts{display:flex;flex-wrap:wrap;gap:.4rem}.pill{display:inline-block;border-radius:1rem;
padding:.05rem .6rem;color:#fff;font-weight:600;font-size:.85rem;text-decoration:none;
white-space:nowrap}form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:
.5rem 0 .75rem}select,button{font:inherit;padding:.2rem .4rem;max-width:100%}
table{width:100%;border-collapse:collapse;background:#fff}th,td{text-align:left;padding:
.45rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}th{font-size:.8rem;
color:#57606a}td.name a{font-weight:600;color:#0969da;overflow-wrap:anywhere}
.why{color:#57606a;font-size:.85rem;overflow-wrap:anywhere}.tag{background:#ddf4ff;
border-radius:.3rem;padding:0 .3rem;font-size:.8rem;margin-right:.2rem;white-space:nowrap}
.muted{color:#57606a}h2{overflow-wrap:anywhere}.pill{background:#57606a}
.pill.status-fresh{background:#1a7f37}.pill.status-warn{background:#b08800}
.pill.status-stale{background:#cf222e}.pill.status-error{background:#8250df}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;
background:#fff;padding:.75rem;margin:0 0 1rem}dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;padding:.75rem;
border:1px solid #d0d7de}
@media (max-width:640px){thead{display:none}table,tbody,tr,td{display:block;width:100%}
tr{margin-bottom:.6rem;border:1px solid #d0d7de;border-radius:.4rem;background:#fff}
td{border:0;padding:.2rem .6rem}td[data-label]::before{content:attr(data-label) ": ";
color:#57606a;font-size:.8rem}}
"""


# The page's only style is this one <style> block (pill colours are classes, never a
# `style=` attribute), so the Content-Security-Policy allows exactly it by its hash and
# nothing else: no script, no inline style an injected string could add.
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def link(url: object, text: str) -> str:
    """An `<a>` to `url` when it is a safe http(s) link, else `text` as plain text."""
    href = safe_link(url)
    if href is None:
        return escape(text)
    return f'<a href="{escape(href)}" rel="noopener noreferrer">{escape(text)}</a>'


def _pill(status: str, href: str | None = None, text: str | None = None) -> str:
    label = escape(text or status)
    cls = f'class="pill status-{escape(status)}"'
    if href:
        return f'<a {cls} href="{escape(href)}">{label}</a>'
    return f"<span {cls}>{label}</span>"


def _document(title: str, body: str, options: PageOptions) -> str:
    refresh = (
        f'<meta http-equiv="refresh" content="{options.refresh_seconds}">'
        if options.refresh_seconds
        else ""
    )
    links = "".join(
        f'<a href="{escape(url)}">{escape(name)}</a>' for name, url in options.links.items()
    )
    if safe_link(options.dashboard_url):
        links += link(options.dashboard_url, "dashboard")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{refresh}<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1><a href="/">{escape(options.title)}</a></h1>{links}</header>'
        f"<main>{body}</main></body></html>"
    )


def _select(name: str, label: str, values: Sequence[str], chosen: Sequence[str]) -> str:
    opts = "".join(
        f'<option value="{escape(v)}"{" selected" if v in chosen else ""}>{escape(v)}</option>'
        for v in values
    )
    return (
        f'<label>{escape(label)} <select name="{name}"><option value="">all</option>'
        f"{opts}</select></label>"
    )


def render_index(
    rows: Sequence[Mapping[str, Any]],
    history: Mapping[str, Sequence[str]],
    filters: Filters,
    now: datetime,
    options: PageOptions = PageOptions(),
) -> str:
    """The status page: every contract passing `filters`, worst first.

    `history` maps a contract to its recent statuses, oldest first (for the spark)."""
    counts = {s: sum(1 for r in rows if r.get("status") == s) for s in STATUSES}
    chips = "".join(_pill(s, f"/?status={s}", f"{counts[s]} {s}") for s in STATUSES)
    owners = sorted({str(r.get("owner")) for r in rows})
    tags = sorted({str(t) for r in rows for t in r.get("tags") or ()})
    form = (
        '<form method="get" action="/">'
        + _select("owner", "Owner", owners, filters.owners)
        + _select("tag", "Tag", tags, filters.tags)
        + _select("status", "Status", list(STATUSES), filters.statuses)
        + '<button type="submit">Filter</button>'
        + ('<a href="/">clear</a>' if filters.query() else "")
        + "</form>"
    )
    shown = sort_worst_first([r for r in rows if filters.keep(r)])
    body_rows = "".join(_row(r, history.get(str(r["contract"]), ()), now) for r in shown)
    if not shown:
        body_rows = '<tr><td colspan="7" class="muted">No contract matches.</td></tr>'
    table = (
        '<table id="contracts"><thead><tr><th>Status</th><th>Contract</th><th>Owner</th>'
        "<th>Age</th><th>Limit</th><th>Deadline</th><th>Recent</th></tr></thead>"
        f"<tbody>{body_rows}</tbody></table>"
    )
    summary = f'<p class="muted">{len(shown)} of {len(rows)} contracts · {now:%H:%M:%S} UTC</p>'
    return _document(
        options.title, f'<div class="counts">{chips}</div>{form}{summary}{table}', options
    )


def _row(row: Mapping[str, Any], history: Sequence[str], now: datetime) -> str:
    name = str(row["contract"])
    status = str(row.get("status"))
    why = row.get("error") or row.get("detail") or ""
    tags = "".join(f'<span class="tag">{escape(str(t))}</span>' for t in row.get("tags") or ())
    return (
        f'<tr class="row status-{escape(status)}" data-contract="{escape(name)}">'
        f'<td data-label="Status">{_pill(status)} '
        f'<span class="muted">{escape(str(row.get("severity", "")))}</span></td>'
        f'<td class="name" data-label="Contract"><a href="/contracts/{quote(name, safe="")}">'
        f'{escape(name)}</a> {tags}<div class="why">{escape(str(why))}</div></td>'
        f'<td data-label="Owner">{escape(str(row.get("owner", "")))}</td>'
        f'<td data-label="Age" class="age">{escape(age_text(row, now))}</td>'
        f'<td data-label="Limit">{escape(limit_text(row))}</td>'
        f'<td data-label="Deadline">{escape(_utc(row.get("deadline")))}</td>'
        f'<td data-label="Recent">{spark_svg(history)}</td></tr>'
    )


def render_contract(
    row: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    explain: str,
    alerts: Sequence[Mapping[str, Any]],
    now: datetime,
    options: PageOptions = PageOptions(),
) -> str:
    """One contract: its verdict, metadata, the read that runs, history and recent alerts.

    `history` entries have `checked_at`, `status`, `last_update` (newest first); `alerts`
    entries have `at`, `kind`, `from_status`, `to_status` (newest first)."""
    name = str(row["contract"])
    facts = {
        "Status": _pill(str(row.get("status"))),
        "Owner": escape(str(row.get("owner", ""))),
        "Severity": escape(str(row.get("severity", ""))),
        "Warehouse": escape(str(row.get("warehouse", ""))),
        "Age": escape(age_text(row, now)),
        "Last update": escape(_utc(row.get("last_update"))),
        "Limit": escape(limit_text(row)),
        "Deadline": escape(_utc(row.get("deadline"))),
        "Tags": escape(", ".join(str(t) for t in row.get("tags") or ())),
    }
    if row.get("error"):
        facts["Error"] = escape(str(row["error"]))
    if row.get("detail"):
        facts["Detail"] = escape(str(row["detail"]))
    meta = dict(row.get("metadata") or {})
    runbook = meta.pop("runbook", None)
    if runbook:
        facts["Runbook"] = link(runbook, str(runbook))
    for key, value in meta.items():
        facts[escape(str(key))] = escape(str(value))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts.items())
    spark = spark_svg([str(h.get("status")) for h in reversed(history)], width=240, height=20)
    hist_rows = (
        "".join(
            f'<tr><td data-label="Checked">{escape(_utc(h.get("checked_at")))}</td>'
            f'<td data-label="Status">{_pill(str(h.get("status")))}</td>'
            f'<td data-label="Last update">{escape(_utc(h.get("last_update")))}</td></tr>'
            for h in history
        )
        or '<tr><td colspan="3" class="muted">No history yet.</td></tr>'
    )
    alert_rows = (
        "".join(
            f'<tr><td data-label="When">{escape(_utc(a.get("at")))}</td>'
            f'<td data-label="Alert">{escape(str(a.get("kind", "")))}: '
            f"{escape(str(a.get('from_status') or '—'))} → {escape(str(a.get('to_status', '')))}"
            "</td></tr>"
            for a in alerts
        )
        or '<tr><td colspan="2" class="muted">No alerts.</td></tr>'
    )
    body = (
        f"<h2>{escape(name)}</h2>"
        f'<p class="muted">{escape(str(row.get("description") or ""))}</p>'
        f"<dl>{dl}</dl><p>{spark}</p>"
        f'<h3>What runs</h3><pre id="explain">{escape(explain)}</pre>'
        '<h3>History</h3><table id="history"><thead><tr><th>Checked</th><th>Status</th>'
        f"<th>Last update</th></tr></thead><tbody>{hist_rows}</tbody></table>"
        '<h3>Recent alerts</h3><table id="alerts"><thead><tr><th>When</th><th>Alert</th>'
        f"</tr></thead><tbody>{alert_rows}</tbody></table>"
    )
    return _document(f"{name} · {options.title}", body, options)
