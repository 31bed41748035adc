"""Alert messages: title and body for one channel, as pure functions of the facts.

Three channel styles:
- `slack`: compact, written in CommonMark, which apprise turns into Slack mrkdwn
  (`**x**` → `*x*`, `[label](url)` → `<url|label>`); free text goes in code spans so a
  `*` or `_` in an error message cannot break the formatting.
- `email`: a plain-text body with aligned fields that reads well in any mail client.
- `text`: the same plain text, for webhooks and every other apprise service.

Every string a user did not write in a contract passes through `scrub` (the caller's
secret redactor) before it is placed in a message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote, urlencode

from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.core.durations import compact_duration, format_duration
from monitor.core.links import safe_link
from monitor.core.models import Status

Style = Literal["slack", "email", "text"]
NotifyType = Literal["info", "success", "warning", "failure"]

OUTPUT_TAIL_LINES = 15  # lines of a failed job's output shown in a message


@dataclass(frozen=True)
class Links:
    """Where messages point: `server.public_url` and `server.dashboard_url`."""

    public_url: str | None = None
    dashboard_url: str | None = None

    def status_page(self, *, contract: str | None = None, owner: str | None = None) -> str | None:
        """The status page, at one contract or filtered by owner."""
        if not self.public_url:
            return None
        base = self.public_url.rstrip("/") + "/"
        if contract is not None:
            return base + "contracts/" + quote(contract, safe="._-")
        return base + ("?" + urlencode({"owner": owner}) if owner else "")

    def dashboard(self, *, contract: str | None = None, owner: str | None = None) -> str | None:
        """The Grafana dashboard with its `contract` or `owner` variable set."""
        if not self.dashboard_url:
            return None
        sep = "&" if "?" in self.dashboard_url else "?"
        if contract is not None:
            return f"{self.dashboard_url}{sep}{urlencode({'var-contract': contract})}"
        if owner is not None:
            return f"{self.dashboard_url}{sep}{urlencode({'var-owner': owner})}"
        return self.dashboard_url


@dataclass(frozen=True)
class Message:
    """What a channel gets. `body_format` is apprise's: text or markdown."""

    title: str
    body: str
    body_format: Literal["text", "markdown"]
    notify_type: NotifyType


def style_of(url: str) -> Style:
    """The message style a notify URL gets, from its scheme."""
    scheme = url.partition("://")[0].lower()
    if scheme in ("slack", "slacks") or url.startswith("https://hooks.slack.com/"):
        return "slack"
    if scheme in ("mailto", "mailtos", "email", "emails"):
        return "email"
    return "text"


def _identity(text: str) -> str:
    return text


# --- The words ---------------------------------------------------------------------------


def _utc(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(d: datetime, now: datetime) -> str:
    delta = now - d
    if delta.total_seconds() < 0:
        return "in " + format_duration(-delta)
    return format_duration(delta) + " ago"


def _label(f: AlertFacts) -> str:
    return "RESOLVED" if f.kind is Kind.RESOLVED else f.status.value.upper()


def problem(f: AlertFacts) -> str:
    """What is wrong (or right again), in one short phrase: the age and the limit broken,
    the deadline missed, or the error."""
    if f.status is Status.ERROR:
        return "the source could not be read"
    if f.last_update is None and f.status is not Status.FRESH:
        return "no data at all"
    age = f.age
    if f.status in (Status.FRESH, Status.WARN) and f.kind is Kind.RESOLVED:
        return f"data {format_duration(age)} old" if age is not None else "data arrived"
    if f.schedule and f.deadline is not None and f.checked_at is not None:
        late = format_duration(f.checked_at - f.deadline)
        return f"deadline {_utc(f.deadline)} missed by {late}"
    limit = f.error_after if f.status is Status.STALE else f.warn_after
    limit = limit or f.error_after or f.warn_after
    if age is None:
        return f.description or f.status.value
    if limit is None:
        return f"data {format_duration(age)} old"
    return f"data {format_duration(age)} old, limit {compact_duration(limit)}"


def _headline(f: AlertFacts) -> str:
    """`STALE: name — data 2h 5m old, limit 1h` and its variants."""
    if f.kind is Kind.RESOLVED:
        return f"RESOLVED: {f.contract} is {f.status.value} again — {problem(f)}"
    prefix = _label(f)
    if f.kind is Kind.CHANGED and f.previous is not None:
        prefix = f"{prefix} (was {f.previous.value})"
    elif f.kind is Kind.REPEATED:
        prefix = f"still {prefix}"
    return f"{prefix}: {f.contract} — {problem(f)}"


def title(items: Sequence[AlertFacts], owner: str) -> str:
    """The title (e-mail subject): one contract's headline, or the counts of a group."""
    if len(items) == 1:
        return _headline(items[0])
    counts = Counter(_label(f).lower() for f in items)
    order = ["error", "stale", "warn", "fresh", "resolved"]
    parts = [f"{counts[k]} {k}" for k in order if counts[k]]
    return f"{len(items)} contracts of {owner}: {', '.join(parts)}"


def notify_type(items: Sequence[AlertFacts]) -> NotifyType:
    """failure when anything is broken, warning for warn only, success when all resolved."""
    if all(f.kind is Kind.RESOLVED for f in items):
        return "success"
    if any(f.kind is not Kind.RESOLVED and f.status.rank >= 2 for f in items):
        return "failure"
    return "warning"


def _metadata(f: AlertFacts) -> list[tuple[str, str]]:
    """Metadata as (key, value) lines, the runbook first."""
    meta = dict(f.metadata)
    out = []
    if "runbook" in meta:
        out.append(("Runbook", str(meta.pop("runbook"))))
    for k in sorted(meta):
        v = meta[k]
        out.append((k, ("true" if v else "false") if isinstance(v, bool) else str(v)))
    return out


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-OUTPUT_TAIL_LINES:])


# --- Plain text (e-mail and generic) -----------------------------------------------------


def _text_block(f: AlertFacts, links: Links, now: datetime, scrub: Callable[[str], str]) -> str:
    lines = [_headline(f)]
    if f.reason:
        lines.append(f"({f.reason})")
    fields: list[tuple[str, str]] = []
    if f.status is Status.ERROR and f.error:
        fields.append(("Error", scrub(f.error)))
    if f.detail:
        fields.append(("Detail", scrub(f.detail)))
    if f.last_update is not None:
        fields.append(("Last update", f"{_utc(f.last_update)} ({_ago(f.last_update, now)})"))
    else:
        fields.append(("Last update", "never"))
    if f.kind is not Kind.RESOLVED and f.deadline is not None:
        fields.append(("Deadline", f"{_utc(f.deadline)} ({_ago(f.deadline, now)})"))
    limits = []
    if f.warn_after is not None:
        limits.append(f"warn after {compact_duration(f.warn_after)}")
    if f.error_after is not None:
        limits.append(f"stale after {compact_duration(f.error_after)}")
    if f.schedule:
        limits.append(f"schedule {f.schedule} ({f.timezone})")
    if limits:
        fields.append(("Limits", ", ".join(limits)))
    fields += [("Owner", f.owner), ("Severity", f.severity), ("Warehouse", f.warehouse)]
    if f.tags:
        fields.append(("Tags", ", ".join(f.tags)))
    fields += _metadata(f)
    page = links.status_page(contract=f.contract)
    board = links.dashboard(contract=f.contract)
    if page:
        fields.append(("Status page", page))
    if board:
        fields.append(("Dashboard", board))
    width = max(len(k) for k, _ in fields) + 1
    lines += [f"  {(k + ':').ljust(width)} {v}" for k, v in fields]
    if f.output_tail and f.kind is not Kind.RESOLVED:
        lines.append("  Output (last lines):")
        lines += ["    " + line for line in scrub(_tail(f.output_tail)).splitlines()]
    return "\n".join(lines)


def _text_body(
    items: Sequence[AlertFacts],
    owner: str,
    links: Links,
    now: datetime,
    scrub: Callable[[str], str],
) -> str:
    blocks = [_text_block(f, links, now, scrub) for f in items]
    if len(items) > 1:
        footer = [
            f"{label}: {url}"
            for label, url in (
                ("Status page", links.status_page(owner=owner)),
                ("Dashboard", links.dashboard(owner=owner)),
            )
            if url
        ]
        if footer:
            blocks.append("\n".join(footer))
    return "\n\n".join(blocks) + "\n"


# --- Slack (CommonMark, turned into mrkdwn by apprise) -----------------------------------


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("\n", " ") + "`"


def _md_link(label: str, url: str) -> str:
    """`[label](url)`; parentheses are percent-encoded so they cannot end the link early."""
    return f"[{label}]({url.replace('(', '%28').replace(')', '%29')})"


def _md_value(key: str, value: str) -> str:
    """A metadata line: a link only when `safe_link` allows it; text that could read as
    Markdown (a `[x](javascript:…)` written as a value) goes in a code span."""
    href = safe_link(value)
    if href is not None:
        return _md_link(key, href)
    if any(c in value for c in "[]()<>|*_`"):
        return f"{key}: {_code(value)}"
    return f"{key}: {value}"


def _slack_block(f: AlertFacts, links: Links, now: datetime, scrub: Callable[[str], str]) -> str:
    head = _headline(f).replace(f.contract, f"**{f.contract}**", 1)
    lines = [head + (f" ({f.reason})" if f.reason else "")]
    if f.status is Status.ERROR and f.error:
        lines.append("Error: " + _code(scrub(f.error)))
    if f.detail:
        lines.append("Detail: " + _code(scrub(f.detail)))
    when = f"{_utc(f.last_update)} ({_ago(f.last_update, now)})" if f.last_update else "never"
    lines.append(f"Last update {when} · {f.severity} · owner {f.owner} · warehouse {f.warehouse}")
    extra = [f"Tags: {', '.join(f.tags)}"] if f.tags else []
    extra += [_md_value(k, v) for k, v in _metadata(f)]
    if extra:
        lines.append(" · ".join(extra))
    nav = [
        _md_link(label, url)
        for label, url in (
            ("Status page", links.status_page(contract=f.contract)),
            ("Dashboard", links.dashboard(contract=f.contract)),
        )
        if url
    ]
    if nav:
        lines.append(" · ".join(nav))
    if f.output_tail and f.kind is not Kind.RESOLVED:
        lines.append("```\n" + scrub(_tail(f.output_tail)).replace("```", "'''") + "\n```")
    return "\n".join(lines)


def _slack_body(
    items: Sequence[AlertFacts], links: Links, now: datetime, scrub: Callable[[str], str]
) -> str:
    return "\n\n".join(_slack_block(f, links, now, scrub) for f in items)


# --- Entry point ---------------------------------------------------------------------------


def render(
    items: Sequence[AlertFacts],
    style: Style,
    *,
    owner: str,
    links: Links,
    now: datetime,
    scrub: Callable[[str], str] = _identity,
) -> Message:
    """One message about `items` (one contract, or a group of one owner's contracts)."""
    if not items:
        raise ValueError("a message needs at least one contract")
    ordered = sorted(items, key=lambda f: (f.kind is Kind.RESOLVED, -f.status.rank, f.contract))
    head = scrub(title(ordered, owner))
    if style == "slack":
        return Message(
            head, _slack_body(ordered, links, now, scrub), "markdown", notify_type(items)
        )
    return Message(head, _text_body(ordered, owner, links, now, scrub), "text", notify_type(items))


def notify_test_message(owner: str, links: Links, now: datetime) -> Message:
    """The message `fresh notify-test` sends."""
    page = links.status_page(owner=owner)
    body = (
        f"This is a test alert from fresh for owner {owner}, sent at {_utc(now)}.\n"
        "If you can read it, alerts for this owner reach this channel.\n"
        + (f"Status page: {page}\n" if page else "")
    )
    return Message(f"fresh test alert for {owner}", body, "text", "info")
