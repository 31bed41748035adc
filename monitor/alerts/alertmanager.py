"""Alertmanager destinations (SPEC 15): `alertmanager://[user:pass@]HOST:PORT[/PATH]`
(`alertmanagers://` for https) receive fresh's alerts through Alertmanager's API v2.

One alert per contract, named as the shipped Prometheus rules name theirs
(`FreshContractStale` …, label `fresh_status`), so a team's Alertmanager routes treat both
alike. A transition becomes alerts here (`alerts_for`): fired → one firing alert; a status
change → the old alert ended (`endsAt` = the change) and the new one firing; resolved →
the alert ended. These go through the outbox like any message (retries, back-off). A
firing alert leaves `endsAt` empty in the outbox and the sender sets it `RESEND_AHEAD`
from the moment it is posted, so a message delayed while Alertmanager was down still
arrives firing; `monitor.alerts.am_refresh` re-posts open alerts every minute, as
Prometheus does, so Alertmanager keeps them active for as long as they are open.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.alerts.render import Links, Message, render
from monitor.alerts.sender import SendResult
from monitor.config.notify_urls import ALERTMANAGER_SCHEMES as SCHEMES
from monitor.config.notify_urls import is_alertmanager
from monitor.config.notify_urls import parse_alertmanager as parse_url
from monitor.core.labels import label_name, label_value
from monitor.core.links import safe_link
from monitor.core.models import Status

RESEND_AHEAD = timedelta(minutes=4)  # endsAt of a firing alert, from the moment it is posted
TEST_LASTS = timedelta(minutes=1)  # the FreshTest alert of `fresh notify-test` ends by itself
ALERTNAMES = {
    Status.WARN: "FreshContractWarn",
    Status.STALE: "FreshContractStale",
    Status.ERROR: "FreshContractError",
}
_BODY_KIND = "alertmanager/v2"  # the outbox message's title: its body is a JSON list of alerts


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def labels_of(f: AlertFacts, status: Status, metric_labels: Sequence[str]) -> dict[str, str]:
    """The alert's identity: its name, `fresh_status`, the contract's labels."""
    labels = {
        "alertname": ALERTNAMES.get(status, "FreshContractStale"),
        "fresh_status": status.value,
        "contract": f.contract,
        "owner": f.owner,
        "severity": f.severity,
        "warehouse": f.warehouse,
    }
    for key in metric_labels:
        labels.setdefault(label_name(key), label_value(f.metadata.get(key)))
    return labels


def alert(
    f: AlertFacts,
    status: Status,
    *,
    metric_labels: Sequence[str],
    links: Links,
    now: datetime,
    starts_at: datetime,
    ends_at: datetime | None = None,
    scrub: Callable[[str], str] = lambda s: s,
) -> dict[str, Any]:
    """One API v2 alert. `ends_at` None: firing (the sender sets `endsAt` when it posts)."""
    text = render([f], "text", owner=f.owner, links=links, now=now, scrub=scrub)
    annotations = {"summary": text.title, "description": text.body}
    runbook = safe_link(f.metadata.get("runbook"))  # the one rule for user-written links
    if runbook:
        annotations["runbook_url"] = runbook
    out: dict[str, Any] = {
        "labels": labels_of(f, status, metric_labels),
        "annotations": annotations,
        "startsAt": _iso(min(starts_at, ends_at) if ends_at else starts_at),
    }
    page = links.status_page(contract=f.contract)
    if page:
        out["generatorURL"] = page
    if ends_at is not None:
        out["endsAt"] = _iso(ends_at)
    return out


def alerts_for(
    items: Sequence[AlertFacts],
    *,
    metric_labels: Sequence[str],
    links: Links,
    now: datetime,
    scrub: Callable[[str], str] = lambda s: s,
) -> list[dict[str, Any]]:
    """The alerts a flush's transitions become (plain repeats none: Alertmanager repeats
    by itself, and `am_refresh` keeps open alerts active)."""
    kw: dict[str, Any] = {"metric_labels": metric_labels, "links": links, "now": now}
    kw["scrub"] = scrub
    out: list[dict[str, Any]] = []
    for f in items:
        if f.kind is Kind.FIRED or (f.kind is Kind.REPEATED and f.reason):
            # fired, or announced only now that the silence holding it ended
            out.append(alert(f, f.status, starts_at=f.at, **kw))
        elif f.kind is Kind.CHANGED:
            if f.previous is not None and f.previous in ALERTNAMES:
                out.append(alert(f, f.previous, starts_at=f.at, ends_at=f.at, **kw))
            out.append(alert(f, f.status, starts_at=f.at, **kw))
        elif f.kind is Kind.RESOLVED and f.previous is not None:
            out.append(alert(f, f.previous, starts_at=f.at, ends_at=f.at, **kw))
    return out


def message(alerts: Sequence[Mapping[str, Any]]) -> Message:
    """Alerts as an outbox message (the body is their JSON list)."""
    firing = any("endsAt" not in a for a in alerts)
    return Message(_BODY_KIND, json.dumps(list(alerts)), "text", "failure" if firing else "success")


def fresh_test_alerts(owner: str, links: Links, now: datetime) -> list[dict[str, Any]]:
    """What `fresh notify-test` posts: `FreshTest`, ending a minute later by itself."""
    out: dict[str, Any] = {
        "labels": {"alertname": "FreshTest", "owner": owner, "severity": "info"},
        "annotations": {
            "summary": f"fresh test alert for {owner}",
            "description": "If it reached its receiver, fresh's alerts for this owner do too.",
        },
        "startsAt": _iso(now),
        "endsAt": _iso(now + TEST_LASTS),
    }
    page = links.status_page(owner=owner)
    if page:
        out["generatorURL"] = page
    return [out]


class AlertmanagerSender:
    """POSTs alerts to Alertmanager's API v2. Firing alerts get `endsAt` = now + `ahead`
    (4 min: four re-sends may fail before Alertmanager lets the alert go)."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        mask: Callable[[str], str] = lambda s: s,
        ahead: timedelta = RESEND_AHEAD,
    ) -> None:
        self._timeout = timeout
        self._ahead = ahead
        self._now = now
        self._mask = mask

    def send(self, url: str, message: Message) -> SendResult:
        """Send an outbox message of `message()` (or a plain one, as a FreshTest alert)."""
        if message.title == _BODY_KIND:
            alerts = json.loads(message.body)
        else:  # notify-test's text message: Alertmanager gets a FreshTest alert
            alerts = fresh_test_alerts("fresh", Links(None, None), self._now())
        return self.post(url, alerts)

    def post(self, url: str, alerts: Sequence[Mapping[str, Any]]) -> SendResult:
        """POST `alerts` (firing ones stamped with `endsAt` ahead) to the URL's API."""
        try:
            target = parse_url(url)
        except ValueError as exc:
            return SendResult(False, str(exc), status=400)
        ends = _iso(self._now() + self._ahead)
        body = json.dumps([a if "endsAt" in a else {**a, "endsAt": ends} for a in alerts])
        req = urllib.request.Request(
            target.endpoint,
            data=body.encode(),
            method="POST",
            headers={"content-type": "application/json"},
        )
        if target.username is not None:
            pair = f"{target.username}:{target.password or ''}".encode()
            req.add_header("authorization", "Basic " + base64.b64encode(pair).decode())
        try:
            context = ssl.create_default_context() if target.endpoint.startswith("https") else None
            with urllib.request.urlopen(req, timeout=self._timeout, context=context) as resp:
                resp.read()
            return SendResult(True)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode(errors="replace").strip()
            text = f"Alertmanager answered {exc.code}: {detail}"
            return SendResult(False, self._mask(text), status=exc.code)
        except (OSError, ValueError) as exc:
            return SendResult(False, self._mask(f"Alertmanager unreachable: {exc}"))


__all__ = ["SCHEMES", "AlertmanagerSender", "alerts_for", "is_alertmanager", "parse_url"]
