"""Slack app destinations (SPEC 15): `slackbot://TOKEN/CHANNEL` through Slack's Web API
with the official slack-sdk: one message per incident, edited in place, repeats in its
thread.

Flushing (inside the outbox's transaction, `plan_rows`): a contract that breaks starts a
new message (a `slack_messages` row, not posted yet, and a `slack_alerts` row naming it for
that alert); every later step of the same alert (repeat, status change, resolve) updates
that message's stored facts and queues an `update` of it, with a thread reply. The
outbox's rows of one URL go out in id order, so an edit waits behind its original; the
sender (`SlackBotSender`) posts or edits from what the store holds *when it sends*, so an
edit queued behind several changes shows them all. If the original was refused for good,
the edit posts the message anew. Slack's 429 answers are retried after their
`Retry-After` (slack-sdk's rate-limit handler); other failures go back to the outbox.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.alerts.render import Links, Message, problem, render
from monitor.alerts.sender import SendResult
from monitor.config.notify_urls import is_slackbot, parse_slackbot
from monitor.core.durations import format_duration
from monitor.core.links import safe_link
from monitor.store import Store
from monitor.store import slack as slack_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

API_URL_ENV = "FRESH_SLACK_API_URL"
_BODY_KIND = "slackbot"  # an outbox message's title: its body says what to do
_TRANSIENT = {"internal_error", "fatal_error", "request_timeout", "service_unavailable"}
_EMOJI = {"warn": ":large_yellow_circle:", "stale": ":red_circle:", "error": ":x:"}

__all__ = ["SlackBotSender", "is_slackbot", "plan_rows"]


# --- flush: which message each transition posts or edits ----------------------------------


def plan_rows(
    conn: Connection,
    url_id: str,
    owner: str,
    items: Sequence[AlertFacts],
    episodes: Mapping[str, int],
    now: datetime,
    *,
    send_resolved: bool = True,
) -> list[Message]:
    """Record what `items` (one flush of one owner, for one slackbot URL) do to Slack
    messages, and return the outbox messages to queue: one `post` for the contracts that
    start an alert, one `update` (with its thread reply) per message whose alerts moved."""
    new: list[AlertFacts] = []
    moved: dict[int, list[AlertFacts]] = {}
    for f in items:
        held_by = slack_rows.message_of(conn, url_id, f.contract, episodes[f.contract])
        if held_by is None and f.kind is not Kind.RESOLVED:
            new.append(f)  # a new break (or one first heard of now): a new message
        elif held_by is not None:
            moved.setdefault(held_by, []).append(f)
    out: list[Message] = []
    if new:
        entries = {f.contract: _entry(f, since=f.at) for f in new}
        alerts = {f.contract: episodes[f.contract] for f in new}
        message_id = slack_rows.new_message(conn, url_id, owner, entries, alerts, now)
        out.append(_message({"op": "post", "message": message_id}))
    for message_id, changed in moved.items():
        entries = slack_rows.entries(conn, message_id)
        for f in changed:
            since = (entries.get(f.contract) or {}).get("since") or f.at.isoformat()
            entries[f.contract] = _entry(f, since=datetime.fromisoformat(since))
        slack_rows.set_entries(conn, message_id, entries)
        # with send_resolved off a resolve edits the message and says nothing in its thread
        said = [f for f in changed if send_resolved or f.kind is not Kind.RESOLVED]
        reply = "\n".join(_reply(f, entries[f.contract]) for f in said)
        out.append(_message({"op": "update", "message": message_id, "reply": reply}))
    return out


def _entry(f: AlertFacts, *, since: datetime) -> dict[str, Any]:
    return {"facts": f.to_json(), "since": since.isoformat()}


def _message(op: Mapping[str, Any]) -> Message:
    return Message(_BODY_KIND, json.dumps(dict(op)), "text", "info")


def _late_for(entry: Mapping[str, Any], f: AlertFacts) -> str:
    return format_duration(f.at - datetime.fromisoformat(entry["since"]))


def _reply(f: AlertFacts, entry: Mapping[str, Any]) -> str:
    if f.kind is Kind.RESOLVED:
        return f"RESOLVED: {f.contract} is {f.status.value} again (late for {_late_for(entry, f)})"
    if f.kind is Kind.CHANGED and f.previous is not None:
        return f"{f.status.value.upper()} (was {f.previous.value}): {f.contract} — {problem(f)}"
    return f"still {f.status.value.upper()}: {f.contract} — {problem(f)}"


# --- Block Kit ------------------------------------------------------------------------------


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[: limit - 1] + "…" if len(text) > limit else text}


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{value}"[:2000]}


def blocks(
    entries: Mapping[str, Mapping[str, Any]],
    *,
    links: Links,
    now: datetime,
    scrub: Callable[[str], str],
) -> tuple[list[dict[str, Any]], str]:
    """The Block Kit blocks of one message and its text fallback."""
    facts = [AlertFacts.from_json(e["facts"]) for e in entries.values()]
    ordered = sorted(facts, key=lambda f: (f.kind is Kind.RESOLVED, -f.status.rank, f.contract))
    text = render(ordered, "text", owner=ordered[0].owner, links=links, now=now, scrub=scrub)
    out: list[dict[str, Any]] = [{"type": "header", "text": _plain(text.title, 150)}]
    for f in ordered[:15]:  # Slack allows 50 blocks; 3 per contract
        entry = entries[f.contract]
        if f.kind is Kind.RESOLVED:
            head = f":white_check_mark: *RESOLVED: {f.contract}* is {f.status.value} again"
            head += f" — was late for {_late_for(entry, f)}"
        else:
            emoji = _EMOJI.get(f.status.value, "")
            head = f"{emoji} *{f.status.value.upper()}: {f.contract}* — {problem(f)}"
        when = f.last_update.strftime("%Y-%m-%d %H:%M UTC") if f.last_update else "never"
        fields = [
            _field("Last update", when),
            _field("Owner", f.owner),
            _field("Severity", f.severity),
            _field("Warehouse", f.warehouse),
        ]
        if f.tags:
            fields.append(_field("Tags", ", ".join(f.tags)))
        if f.error and f.kind is not Kind.RESOLVED:
            fields.append(_field("Error", scrub(f.error)))
        for key, value in f.metadata.items():
            if key != "runbook" and len(fields) < 10:
                fields.append(_field(str(key), scrub(str(value))))
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": head}, "fields": fields})
        buttons = []
        runbook = safe_link(f.metadata.get("runbook"))
        if runbook:
            buttons.append(("Runbook", runbook))
        page = safe_link(links.status_page(contract=f.contract))
        if page:
            buttons.append(("Status page", page))
        if buttons:
            out.append(
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": _plain(label, 75), "url": url}
                        for label, url in buttons
                    ],
                }
            )
    return out, text.title


# --- sending --------------------------------------------------------------------------------


class SlackBotSender:
    """Posts and edits Slack messages from what the store holds of them."""

    def __init__(
        self,
        store: Store | None,
        links: Callable[[], Links],
        *,
        now: Callable[[], datetime],
        mask: Callable[[str], str] = lambda s: s,
        timeout: int = 30,
    ) -> None:
        self._store = store
        self._links = links
        self._now = now
        self._mask = mask
        self._timeout = timeout

    def _client(self, token: str) -> Any:
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

        base = os.environ.get(API_URL_ENV) or WebClient.BASE_URL
        client = WebClient(
            token=token, base_url=base.rstrip("/") + "/", timeout=self._timeout
        )
        # 429: wait Retry-After, then try again (twice at most; then the outbox backs off)
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
        return client

    def send(self, url: str, message: Message) -> SendResult:
        """Carry out one outbox message (`post` / `update`), or post a plain one."""
        try:
            token, channel = parse_slackbot(url)
        except ValueError as exc:
            return SendResult(False, str(exc), status=400)
        client = self._client(token)
        try:
            if message.title != _BODY_KIND:  # notify-test: a plain message
                client.chat_postMessage(channel=channel, text=f"{message.title}\n{message.body}")
                return SendResult(True)
            op = json.loads(message.body)
            return self._carry_out(client, channel, op)
        except Exception as exc:  # slack-sdk raises SlackApiError / URLError / timeouts
            return self._failure(exc)

    def _carry_out(self, client: Any, channel: str, op: Mapping[str, Any]) -> SendResult:
        if self._store is None:
            return SendResult(False, "no state store to keep Slack messages in", 400)
        row = self._store.slack_message(int(op["message"]))
        if row is None:
            return SendResult(False, "its Slack message is gone from the state store", 410)
        made, fallback = blocks(
            row.contracts, links=self._links(), now=self._now(), scrub=self._mask
        )
        if row.ts is None:
            if op["op"] == "update" and not row.post_failed:
                # the original is still on its way: wait behind it
                return SendResult(False, "waiting for its original Slack message to be posted")
            try:
                resp = client.chat_postMessage(channel=channel, blocks=made, text=fallback)
            except Exception as exc:
                result = self._failure(exc)
                if result.permanent:
                    self._store.slack_post_failed(row.id)
                return result
            self._store.slack_posted(row.id, resp["channel"], resp["ts"])
            return SendResult(True)
        client.chat_update(channel=row.channel, ts=row.ts, blocks=made, text=fallback)
        if op.get("reply"):
            client.chat_postMessage(
                channel=row.channel, thread_ts=row.ts, text=self._mask(str(op["reply"]))
            )
        return SendResult(True)

    def _failure(self, exc: Exception) -> SendResult:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        error = response.get("error") if response is not None else None
        text = f"Slack answered {status}: {error}" if status else f"{type(exc).__name__}: {exc}"
        if status == 200 and error and error not in _TRANSIENT:
            status = 400  # a Web API refusal (channel_not_found, invalid_auth…): for good
        return SendResult(False, self._mask(text), status=status)
