"""fakesnow's HTTP server for tests/integration/test_snowflake.py, run by the fakesnow venv's
Python (never imported by the suite: fakesnow pins its own duckdb and sqlglot).

Usage: python fakesnow_server.py PORT LOGINS_FILE. Every login request's SESSION_PARAMETERS
are appended to LOGINS_FILE as one JSON line, so the test sees the QUERY_TAG the real
connector sent (fakesnow keeps no record of it).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import fakesnow.server
import uvicorn
from starlette.requests import Request
from starlette.routing import Route, request_response


def main() -> None:
    port, logins = int(sys.argv[1]), sys.argv[2]
    original = fakesnow.server.login_request

    async def login(request: Request) -> Any:
        body = await request.body()  # Starlette caches it: the original reads it again
        if request.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        params = json.loads(body)["data"]["SESSION_PARAMETERS"]
        with open(logins, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(params, default=str) + "\n")
        return await original(request)

    for route in fakesnow.server.app.routes:
        if isinstance(route, Route) and route.path.endswith("login-request"):
            route.app = request_response(login)
    uvicorn.run(fakesnow.server.app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
