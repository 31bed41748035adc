"""fakesnow's HTTP server for tests/integration/test_snowflake*.py, run by the fakesnow venv's
Python (never imported by the suite: fakesnow pins its own duckdb and sqlglot).

Usage: python fakesnow_server.py PORT LOGINS_FILE [QUERIES_FILE]. Every login request's
SESSION_PARAMETERS are appended to LOGINS_FILE as one JSON line, so the test sees the
QUERY_TAG the real connector sent (fakesnow keeps no record of it); with QUERIES_FILE, every
query request's SQL text is appended there as one JSON line (a string), so a test counts the
statements the server received.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import fakesnow.server
import uvicorn
from starlette.requests import Request
from starlette.routing import Route, request_response

Handler = Callable[[Request], Awaitable[Any]]


async def _json(request: Request) -> Any:
    body = await request.body()  # Starlette caches it: the original handler reads it again
    if request.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)


def _recording(original: Handler, path: str, pick: Callable[[Any], Any]) -> Handler:
    async def handler(request: Request) -> Any:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(pick(await _json(request)), default=str) + "\n")
        return await original(request)

    return handler


def main() -> None:
    port, logins = int(sys.argv[1]), sys.argv[2]
    queries = sys.argv[3] if len(sys.argv) > 3 else None
    for route in fakesnow.server.app.routes:
        if not isinstance(route, Route):
            continue
        if route.path.endswith("login-request"):
            pick = lambda body: body["data"]["SESSION_PARAMETERS"]  # noqa: E731
            route.app = request_response(_recording(route.endpoint, logins, pick))
        elif route.path.endswith("query-request") and queries is not None:
            pick = lambda body: body["sqlText"]  # noqa: E731
            route.app = request_response(_recording(route.endpoint, queries, pick))
    uvicorn.run(fakesnow.server.app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
