"""The status page (`GET /`) and a page per contract, rendered on the server.

Pure functions: they take the result objects of `fresh check --format json` (SPEC section 4,
the same dicts `/api/v1/contracts` serves) plus recent history, and return HTML rendered from
the Jinja2 templates in templates/ (autoescape on: no HTML is built from strings here). No external
assets (the machine may be offline), no JavaScript: refresh is a `<meta http-equiv>`, filters
are a plain GET form. One stylesheet serves a 375 px phone (rows become cards) and a desktop.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup
from starlette.templating import Jinja2Templates

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


def maintenance_text(row: Mapping[str, Any]) -> str:
    """`in maintenance until 2026-12-24 20:00 UTC` for a contract in a window, else ""."""
    until = row.get("maintenance_until")
    return f"in maintenance until {_utc(until)}" if until else ""


def age_text(row: Mapping[str, Any], now: datetime) -> str:
    """How old the newest data is right now ("3h 12m"), or "no data"."""
    last = _parse(row.get("last_update"))
    return "no data" if last is None else format_duration(now - last)


def limit_text(row: Mapping[str, Any]) -> str:
    """The limits as written: "warn 20m · stale 1h"; learned ones say so (SPEC 13)."""
    parts = ["learned"] if row.get("learned") else []
    if row.get("warn_after_seconds") is not None:
        parts.append(f"warn {format_duration(row['warn_after_seconds'])}")
    if row.get("error_after_seconds") is not None:
        parts.append(f"stale {format_duration(row['error_after_seconds'])}")
    if parts == ["learned"]:
        return "learning"
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
    n = len(history)
    bar = width / n if n else 0.0
    bars = [
        {
            "x": f"{i * bar:.1f}",
            "y": f"{0 if s != 'fresh' else height / 2:.0f}",
            "w": f"{max(bar - 1, 1):.1f}",
            "h": f"{height if s != 'fresh' else height / 2:.0f}",
            "fill": _COLOUR.get(s, "#999"),
            "status": s,
        }
        for i, s in enumerate(history)
    ]
    label = f"last {n} checks: " + ", ".join(history[-5:])
    return _render("spark.html", bars=bars, width=width, height=height, label=label)


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


# Templates (monitor/serve/http/templates/) with autoescape on: every value is escaped unless
# it is markup a template or macro made. Loaded once, on the first page served.
_TEMPLATES = Path(__file__).with_name("templates")


@cache
def _env() -> Jinja2Templates:
    templates = Jinja2Templates(directory=_TEMPLATES)
    templates.env.filters["safe_link"] = safe_link
    return templates


def _render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def _macro(name: str) -> Any:
    return getattr(_env().get_template("macros.html").module, name)


def link(url: object, text: str) -> str:
    """An `<a>` to `url` when it is a safe http(s) link, else `text` as plain text."""
    return str(_macro("link")(url, text))


def _page(template: str, title: str, options: PageOptions, **context: Any) -> str:
    return _render(template, title=title, options=options, css=Markup(_CSS), **context)


def render_index(
    rows: Sequence[Mapping[str, Any]],
    history: Mapping[str, Sequence[str]],
    filters: Filters,
    now: datetime,
    options: PageOptions = PageOptions(),
) -> str:
    """The status page: every contract passing `filters`, worst first.

    `history` maps a contract to its recent statuses, oldest first (for the spark)."""
    shown = sort_worst_first([r for r in rows if filters.keep(r)])
    return _page(
        "index.html",
        options.title,
        options,
        statuses=list(STATUSES),
        counts={s: sum(1 for r in rows if r.get("status") == s) for s in STATUSES},
        owners=sorted({str(r.get("owner")) for r in rows}),
        tags=sorted({str(t) for r in rows for t in r.get("tags") or ()}),
        filters=filters,
        rows=[_row(r, history.get(str(r["contract"]), ()), now) for r in shown],
        total=len(rows),
        now=now,
    )


def _row(row: Mapping[str, Any], history: Sequence[str], now: datetime) -> dict[str, Any]:
    name = str(row["contract"])
    why = str(row.get("error") or row.get("detail") or "")
    if row.get("maintenance_until"):
        why = f"{maintenance_text(row)}{' · ' if why else ''}{why}"
    return {
        "name": name,
        "href_name": quote(name, safe=""),
        "status": str(row.get("status")),
        "severity": str(row.get("severity", "")),
        "tags": [str(t) for t in row.get("tags") or ()],
        "why": why,
        "owner": str(row.get("owner", "")),
        "age": age_text(row, now),
        "limit": limit_text(row),
        "deadline": _utc(row.get("deadline")),
        "spark": Markup(spark_svg(history)),
    }


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
    facts: dict[str, Any] = {
        "Status": _macro("pill")(str(row.get("status"))),
        "Owner": str(row.get("owner", "")),
        "Severity": str(row.get("severity", "")),
        "Warehouse": str(row.get("warehouse", "")),
        "Age": age_text(row, now),
        "Last update": _utc(row.get("last_update")),
        "Limit": limit_text(row),
        "Deadline": _utc(row.get("deadline")),
        "Tags": ", ".join(str(t) for t in row.get("tags") or ()),
    }
    if row.get("maintenance_until"):
        facts["Maintenance"] = maintenance_text(row)
    if row.get("error"):
        facts["Error"] = str(row["error"])
    if row.get("detail"):
        facts["Detail"] = str(row["detail"])
    meta = dict(row.get("metadata") or {})
    runbook = meta.pop("runbook", None)
    if runbook:
        facts["Runbook"] = Markup(link(runbook, str(runbook)))
    for key, value in meta.items():
        facts[str(key)] = str(value)
    spark = spark_svg([str(h.get("status")) for h in reversed(history)], width=240, height=20)
    return _page(
        "contract.html",
        f"{name} · {options.title}",
        options,
        name=name,
        description=str(row.get("description") or ""),
        facts=list(facts.items()),
        spark=Markup(spark),
        explain=explain,
        history=[
            {
                "checked": _utc(h.get("checked_at")),
                "status": str(h.get("status")),
                "last_update": _utc(h.get("last_update")),
            }
            for h in history
        ],
        alerts=[
            {
                "when": _utc(a.get("at")),
                "kind": str(a.get("kind", "")),
                "from_status": str(a.get("from_status") or "—"),
                "to_status": str(a.get("to_status", "")),
            }
            for a in alerts
        ],
    )


def render_missing(name: str) -> str:
    """The 404 page of `/contracts/{name}` for a name no contract has."""
    return _render("missing.html", name=name)
