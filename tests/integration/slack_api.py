"""A local stand-in for Slack's Web API: `chat.postMessage` and `chat.update`, recording
every call; the first call is answered 429 with `Retry-After` (Slack's rate limit)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Call:
    """One Web API call as the server saw it."""

    method: str  # chat.postMessage, chat.update
    args: dict[str, Any]
    token: str
    at: float
    answered: int  # the HTTP status sent back
    reply: dict[str, Any]  # the JSON sent back


class SlackApi:
    """Serves http://127.0.0.1:PORT/api/<method>; `url` is the base for FRESH_SLACK_API_URL."""

    def __init__(
        self,
        *,
        rate_limit_first: bool = True,
        channel_id: str = "C0123ABC",
        refuse_posts: int = 0,
    ) -> None:
        self.calls: list[Call] = []
        self.rate_limit_first = rate_limit_first
        self.refuse_posts = refuse_posts  # the first N chat.postMessage: channel_not_found
        self.channel_id = channel_id
        self._lock = threading.Lock()
        self._next_ts = 1700000000
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(n).decode()
                if "json" in (self.headers.get("content-type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                method = self.path.rsplit("/", 1)[-1]
                status, body = owner._answer(method, args)
                with owner._lock:
                    owner.calls.append(Call(method, args, token, time.time(), status, body))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                if status == 429:
                    self.send_header("retry-after", "1")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _answer(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.rate_limit_first and not self.calls:
                return 429, {"ok": False, "error": "ratelimited"}
            if method == "chat.postMessage" and self.refuse_posts > 0:
                self.refuse_posts -= 1
                return 200, {"ok": False, "error": "channel_not_found"}
            if method == "chat.postMessage":
                self._next_ts += 1
                ts = f"{self._next_ts}.000100"
                return 200, {"ok": True, "channel": self.channel_id, "ts": ts}
            if method == "chat.update":
                return 200, {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        return 200, {"ok": False, "error": "unknown_method"}

    def answered(self, method: str) -> list[Call]:
        """Calls of `method` that succeeded, in order."""
        with self._lock:
            return [
                c for c in self.calls
                if c.method == method and c.answered == 200 and c.reply.get("ok")
            ]  # fmt: skip

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
