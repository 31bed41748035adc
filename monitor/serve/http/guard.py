"""What `fresh serve`'s HTTP side does against hostile or careless clients, below the routes.

- Every response carries a Content-Security-Policy (the pages' one stylesheet by hash, no
  script), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and
  `Referrer-Policy: no-referrer`.
- A trailing-slash redirect is relative (`Location: /api/v1/contracts`): starlette's own
  builds an absolute URL from the request's Host header, which a client controls.
- A connection that is waiting for the client's request (head or body) is closed after
  `read_timeout` seconds, counted from when the server started waiting, so a client that
  trickles or stalls cannot hold it. uvicorn's h11 protocol only times out idle keep-alive
  connections after a response, not a connection that never finishes its request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import h11
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.serve.http.statuspage import CONTENT_SECURITY_POLICY

log = logging.getLogger("fresh.http")

READ_TIMEOUT = 60.0  # seconds a client may take to send one whole request
KEEP_ALIVE_TIMEOUT = 5.0  # seconds an idle keep-alive connection stays open after a response

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def relative_slash_redirect(router: Router) -> ASGIApp:
    """The router's fallback: redirect `/x/` ↔ `/x` when that matches a route, with a
    relative Location; else the router's 404. Use with `router.redirect_slashes = False`."""

    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path not in ("", "/"):
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            # "//host" would be a protocol-relative URL: an open redirect, never ours
            if other.startswith("/") and not other.startswith("//"):
                probe = {**scope, "path": other}
                if any(route.matches(probe)[0] is not Match.NONE for route in router.routes):
                    location = quote(other, safe="/:@!$&'()*+,;=-._~")
                    query = scope.get("query_string", b"").decode("latin-1")
                    if query:
                        location += "?" + query
                    await RedirectResponse(location)(scope, receive, send)
                    return
        await router.not_found(scope, receive, send)

    return fallback


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on reading each request (head and body)."""

    read_timeout: float = READ_TIMEOUT
    _read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._unwatch()
        super().connection_lost(exc)

    def _waiting_for_client(self) -> bool:
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not (
            self.transport is None or self.transport.is_closing()
        )

    def _watch(self) -> None:
        # The deadline is armed once when the wait starts and not moved by later bytes:
        # a client sending one byte a second must not keep the connection forever.
        if not self._waiting_for_client():
            self._unwatch()
        elif self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout, self._timed_out)

    def _unwatch(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _timed_out(self) -> None:
        self._read_deadline = None
        if self._waiting_for_client():
            log.info(
                "closed a connection that sent no complete request in time",
                extra={"event": "http_read_timeout", "seconds": self.read_timeout},
            )
            self.transport.close()


def timed_protocol(read_timeout: float) -> type[TimedH11Protocol]:
    """TimedH11Protocol with its own `read_timeout` (tests use a short one)."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {"read_timeout": read_timeout})
