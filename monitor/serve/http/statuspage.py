"""The status page (`GET /`) and a page per contract, rendered on the server.

Pure functions: they take typed values — each contract with its latest `Verdict`
(report/results.py's `Result`, the same pair `/api/v1/contracts` serves as JSON), the
store's history entries and alert transitions, all with real datetimes — format every
time and duration once, here, and return HTML rendered from the Jinja2 templates in
templates/ (autoescape on: no HTML is built from strings here). No external assets (the
machine may be offline), no JavaScript: refresh is a `<meta http-equiv>`, filters are a
plain GET form. One stylesheet serves a 375 px phone (rows become cards) and a desktop.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from markupsafe import Markup
from starlette.templating import Jinja2Templates

from monitor.core.durations import format_duration
from monitor.core.links import safe_link
from monitor.core.models import Contract, Verdict
from monitor.report.results import Result, jsonable, limits

if TYPE_CHECKING:
    from monitor.store import HistoryEntry

STATUSES = ("error", "stale", "warn", "fresh")
UNKNOWN = "unknown"  # a contract the service has not checked yet
_COLOUR = {"fresh": "#1a7f37", "warn": "#b08800", "stale": "#cf222e", "error": "#8250df"}


def status_of(result: Result | None) -> str:
    """The status a row shows: its verdict's, or `unknown` before the first check."""
    return result.verdict.status.value if result is not None else UNKNOWN


@dataclass(frozen=True)
class Filters:
    """What the query string asks for; each list is OR-ed, lists are AND-ed."""

    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def keep(self, result: Result) -> bool:
        """True when `result` passes every filter given."""
        c = result.contract
        return (
            (not self.owners or c.owner in self.owners)
            and (not self.tags or any(t in self.tags for t in c.tags))
            and (not self.statuses or result.verdict.status.value in self.statuses)
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


def _second(when: datetime) -> datetime:
    # Pages show times to the second as the API does (naive means UTC everywhere in fresh).
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def _utc(when: datetime | None) -> str:
    return _second(when).strftime("%Y-%m-%d %H:%M UTC") if when is not None else "never"


def maintenance_text(until: datetime | None) -> str:
    """`in maintenance until 2026-12-24 20:00 UTC` for a contract in a window, else ""."""
    return f"in maintenance until {_utc(until)}" if until is not None else ""


def age_text(verdict: Verdict, now: datetime) -> str:
    """How old the newest data is right now ("3h 12m"), or "no data"."""
    last = verdict.last_update
    return "no data" if last is None else format_duration(now - _second(last))


def limit_text(result: Result) -> str:
    """The limits in force: "warn 20m · stale 1h"; learned ones say so (SPEC 13)."""
    warn_after, error_after = limits(result.contract, result.verdict)
    parts = ["learned"] if result.contract.expectation.learn is not None else []
    # whole seconds, as the API's warn_after_seconds / error_after_seconds
    if warn_after is not None:
        parts.append(f"warn {format_duration(int(warn_after.total_seconds()))}")
    if error_after is not None:
        parts.append(f"stale {format_duration(int(error_after.total_seconds()))}")
    if parts == ["learned"]:
        return "learning"
    return " · ".join(parts)


def sort_worst_first(results: Sequence[Result]) -> list[Result]:
    """error and stale first, then warn, then fresh; within a status the earliest deadline
    (the most overdue) first, then by name (deadlines compared to the second, as shown)."""

    def key(r: Result) -> tuple[int, bool, datetime, str]:
        deadline = r.verdict.deadline
        when = _second(deadline) if deadline is not None else datetime.max.replace(tzinfo=UTC)
        return (-r.verdict.status.rank, deadline is None, when, r.contract.name)

    return sorted(results, key=key)


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
    results: Sequence[Result],
    history: Mapping[str, Sequence[str]],
    filters: Filters,
    now: datetime,
    options: PageOptions = PageOptions(),
) -> str:
    """The status page: every contract passing `filters`, worst first.

    `history` maps a contract to its recent statuses, oldest first (for the spark)."""
    shown = sort_worst_first([r for r in results if filters.keep(r)])
    return _page(
        "index.html",
        options.title,
        options,
        statuses=list(STATUSES),
        counts={s: sum(1 for r in results if r.verdict.status.value == s) for s in STATUSES},
        owners=sorted({r.contract.owner for r in results}),
        tags=sorted({t for r in results for t in r.contract.tags}),
        filters=filters,
        rows=[_row(r, history.get(r.contract.name, ()), now) for r in shown],
        total=len(results),
        now=now,
    )


def _row(result: Result, history: Sequence[str], now: datetime) -> dict[str, Any]:
    c, v = result.contract, result.verdict
    why = str(v.error or v.detail or "")
    if result.maintenance_until is not None:
        why = f"{maintenance_text(result.maintenance_until)}{' · ' if why else ''}{why}"
    return {
        "name": c.name,
        "href_name": quote(c.name, safe=""),
        "status": v.status.value,
        "severity": c.severity.value,
        "tags": list(c.tags),
        "why": why,
        "owner": c.owner,
        "age": age_text(v, now),
        "limit": limit_text(result),
        "deadline": _utc(v.deadline),
        "spark": Markup(spark_svg(history)),
    }


def render_contract(
    contract: Contract,
    result: Result | None,
    history: Sequence[HistoryEntry],
    explain: str,
    alerts: Sequence[Mapping[str, Any]],
    now: datetime,
    options: PageOptions = PageOptions(),
) -> str:
    """One contract: its verdict (`result`, None before its first check), metadata, the read
    that runs, history and recent alerts.

    `history` is the store's kept readings (newest first); `alerts` its transitions, each
    with `at` (a datetime), `kind`, `from_status`, `to_status` and `silenced` (newest
    first)."""
    name = contract.name
    facts: dict[str, Any] = {
        "Status": _macro("pill")(status_of(result)),
        "Owner": contract.owner,
        "Severity": contract.severity.value,
        "Warehouse": contract.warehouse,
    }
    if result is None:  # never checked: nothing known about the data yet
        facts |= {"Age": "no data", "Last update": "never", "Limit": "", "Deadline": "never"}
    else:
        v = result.verdict
        facts |= {
            "Age": age_text(v, now),
            "Last update": _utc(v.last_update),
            "Limit": limit_text(result),
            "Deadline": _utc(v.deadline),
        }
    facts["Tags"] = ", ".join(contract.tags)
    if result is not None and result.maintenance_until is not None:
        facts["Maintenance"] = maintenance_text(result.maintenance_until)
    if result is not None and result.verdict.error:
        facts["Error"] = result.verdict.error
    if result is not None and result.verdict.detail:
        facts["Detail"] = result.verdict.detail
    meta = dict(jsonable(contract.metadata))  # dates and nested values as the API shows them
    runbook = meta.pop("runbook", None)
    if runbook:
        facts["Runbook"] = Markup(link(runbook, str(runbook)))
    for key, value in meta.items():
        facts[str(key)] = str(value)
    spark = spark_svg([h.status.value for h in reversed(history)], width=240, height=20)
    return _page(
        "contract.html",
        f"{name} · {options.title}",
        options,
        name=name,
        description=contract.description,
        facts=list(facts.items()),
        spark=Markup(spark),
        explain=explain,
        history=[
            {
                "checked": _utc(h.checked_at),
                "status": h.status.value,
                "last_update": _utc(h.last_update),
            }
            for h in history
        ],
        alerts=[
            {
                "when": _utc(a.get("at")),
                "kind": str(a.get("kind", "")) + (" (silenced)" if a.get("silenced") else ""),
                "from_status": str(a.get("from_status") or "—"),
                "to_status": str(a.get("to_status", "")),
            }
            for a in alerts
        ],
    )


def render_missing(name: str) -> str:
    """The 404 page of `/contracts/{name}` for a name no contract has."""
    return _render("missing.html", name=name)
