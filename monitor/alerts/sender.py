"""Sending one message to one URL: the `Sender` protocol, apprise, and a fake for tests.

`AppriseSender` sends through apprise with apprise's own retries turned off (the outbox
retries, so it must see every failure) and reads the HTTP status from apprise's per-call
log lines, so a permanent refusal (4xx other than 408/429: a revoked token, a deleted
channel) stops the retries instead of hammering the service forever.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.alerts.render import Message
from monitor.config.notify_urls import (
    ALERTMANAGER_SCHEMES,
    SLACKBOT_SCHEME,
    parse_alertmanager,
    parse_slackbot,
)

#: HTTP statuses that will not get better by retrying the same request
_RETRYABLE_4XX = {408, 425, 429}
_HTTP_STATUS = re.compile(r"(?:error|status|code)[=:\s]+(\d{3})\b", re.I)


@dataclass(frozen=True)
class SendResult:
    """How one send went. `permanent` failures are not retried."""

    ok: bool
    error: str | None = None
    status: int | None = None  # the HTTP status, when the service answered one

    @property
    def permanent(self) -> bool:
        return (
            not self.ok
            and self.status is not None
            and 400 <= self.status < 500
            and self.status not in _RETRYABLE_4XX
        )


class Sender(Protocol):
    """Sends a message to one apprise URL."""

    def send(self, url: str, message: Message) -> SendResult: ...


def load_apprise() -> Any:
    """Import apprise (lazily: 170 ms) without its import-time DeprecationWarning: its
    e-mail plugin, loaded on first use, imports `imghdr` (deprecated in Python 3.11+).
    Importing `imghdr` here once, quietly, keeps that warning out of logs and tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        with contextlib.suppress(ImportError):  # gone in Python 3.13, and then not needed
            import imghdr  # noqa: F401

    return apprise


#: fresh's own senders by URL scheme (alertmanager://, slackbot://… as they are added): each
#: says why it cannot deliver to a URL of its scheme, or None. Consulted before apprise.
def _refusal(parse: Callable[[str], object]) -> Callable[[str], str | None]:
    """A URL parser that raises ValueError as a check that says why (or None)."""

    def check(url: str) -> str | None:
        try:
            parse(url)
        except ValueError as exc:
            return str(exc)
        return None

    return check


OWN_SCHEMES: dict[str, Callable[[str], str | None]] = {
    **dict.fromkeys(ALERTMANAGER_SCHEMES, _refusal(parse_alertmanager)),
    SLACKBOT_SCHEME: _refusal(parse_slackbot),
}


def notify_url_problem(url: str) -> str | None:
    """Why no sender of fresh can deliver to `url` (None when one can).

    The one check of notify URLs (owners' `notify`, `alerts.fallback`, routes' `notify`):
    `fresh validate` and `fresh serve` call it through `load_project(notify_check=…)`, so
    a URL apprise cannot read is a validate error at its position instead of a failed send
    when an alert is due. The answer never quotes the URL (it may hold a password).
    """
    scheme = url.partition("://")[0].lower()
    own = OWN_SCHEMES.get(scheme)
    if own is not None:
        return own(url)
    return _apprise_problem(url, scheme)


@functools.lru_cache(maxsize=1024)
def _apprise_problem(url: str, scheme: str) -> str | None:
    apprise = load_apprise()
    with _quiet_apprise():  # its log lines quote parts of the URL: not for our logs
        server = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if server is not None:
        return None
    try:
        from apprise.manager_plugins import NotificationManager

        known = scheme in NotificationManager()  # type: ignore[no-untyped-call]
    except ImportError:  # another apprise layout: fall back to the general answer
        known = True
    if not known:
        return f"unknown notify scheme {scheme!r} (neither apprise nor fresh sends to it)"
    return (
        f"apprise cannot read this {scheme}:// URL: a part is missing or malformed"
        f" (see apprise's page for {scheme}://)"
    )


@contextlib.contextmanager
def _quiet_apprise() -> Iterator[None]:
    """Drop apprise's log records made by this thread only (a send elsewhere still logs)."""
    me = threading.get_ident()
    logger = logging.getLogger("apprise")

    def other_threads(record: logging.LogRecord) -> bool:
        return record.thread != me

    logger.addFilter(other_threads)
    try:
        yield
    finally:
        logger.removeFilter(other_threads)


def http_status(lines: list[str]) -> int | None:
    """The last HTTP status an apprise plugin logged (`…error=404.`), if any."""
    found = None
    for line in lines:
        for m in _HTTP_STATUS.finditer(line):
            code = int(m.group(1))
            if 100 <= code < 600:
                found = code
    return found


class AppriseSender:
    """The real sender. `mask` cleans error text (apprise may quote URLs)."""

    def __init__(self, mask: Callable[[str], str] = lambda s: s, timeout: float = 30.0) -> None:
        self._mask = mask
        self._timeout = timeout

    def send(self, url: str, message: Message) -> SendResult:
        apprise = load_apprise()
        asset = apprise.AppriseAsset(async_mode=False)
        if hasattr(asset, "default_service_retry"):
            asset.default_service_retry = 0
        ap = apprise.Apprise(asset=asset)
        if not ap.add(url):
            return SendResult(False, "apprise does not understand this URL", status=400)
        for server in ap:
            if hasattr(server, "retry"):
                server.retry = 0  # a `?retry=N` in the URL would hide failures from the outbox
        lines: list[str] = []
        try:
            result: Any = ap.notify(
                body=message.body,
                title=message.title,
                notify_type=message.notify_type,
                body_format=message.body_format,
                timeout=self._timeout,
            )
            logs = getattr(result, "logs", None)
            if callable(logs):
                lines = [str(getattr(e, "message", e)) for e in logs()]
        except Exception as exc:  # a plugin bug must not kill the delivery thread
            return SendResult(False, self._mask(f"{type(exc).__name__}: {exc}"))
        if bool(result):
            return SendResult(True)
        text = "; ".join(lines[-3:]) or "apprise reported a failed send"
        return SendResult(False, self._mask(text), status=http_status(lines))


@dataclass
class FakeSender:
    """An in-memory sender for unit tests: records what it was given.

    `fail` decides per call: return a SendResult to fail that send, or None to succeed.
    """

    sent: list[tuple[str, Message]] = field(default_factory=list)
    attempts: list[tuple[str, Message]] = field(default_factory=list)
    fail: Callable[[str, Message], SendResult | None] = lambda url, msg: None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, url: str, message: Message) -> SendResult:
        with self._lock:
            self.attempts.append((url, message))
            failure = self.fail(url, message)
            if failure is not None:
                return failure
            self.sent.append((url, message))
            return SendResult(True)


log = logging.getLogger("fresh.alerts")
