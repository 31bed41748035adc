"""The HTTP side of `fresh serve` (starlette + uvicorn): metrics, health, API, pings, `/`.

Every handler only reads the current `Project` and the store (pings and lineage events
write rows), so what it answers is the same on every replica. Errors are JSON `{"error":
..., "status": ...}` with the proper status code; `server.auth` (basic auth) guards `/` and
`/api/v1/*` except the ping and lineage endpoints; `ping_token` guards those with a Bearer
token. Secrets are compared with `hmac.compare_digest` (constant time).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import logging
import re
import socket
from datetime import datetime
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from monitor.core.errors import FreshError, UsageError
from monitor.core.models import HeartbeatSource
from monitor.report.results import Result, iso_z, report_to_json, verdict_to_json
from monitor.serve.http.guard import (
    KEEP_ALIVE_TIMEOUT,
    READ_TIMEOUT,
    SecurityHeaders,
    relative_slash_redirect,
    timed_protocol,
)
from monitor.serve.http.lineage import lineage as receive_lineage
from monitor.serve.http.openapi import document
from monitor.serve.http.pages import contract_page, status_page
from monitor.serve.metrics import CONTENT_TYPE, SCOPES
from monitor.sources.heartbeat.pings import EXIT_CODE_RANGE, MAX_DURATION, record

if TYPE_CHECKING:
    from monitor.serve.runtime import Runtime
    from monitor.store import PingKind

log = logging.getLogger("fresh.http")

OUTPUT_LIMIT = 10 * 1024  # bytes of a job's output tail a ping may carry
HISTORY_LIMIT = 50
PING_KINDS: dict[str, PingKind] = {"": "success", "start": "start", "fail": "fail", "log": "log"}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON error body every endpoint uses."""
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _guard(service: Runtime, request: Request) -> None:
    """Basic auth for `/` and `/api/v1/*` when `server.auth` is set."""
    auth = service.project.settings.server.auth
    if auth is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    ok = False
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        ok = hmac.compare_digest(user.encode(), auth.username.encode()) & hmac.compare_digest(
            password.encode(), auth.password.encode()
        )
    if not ok:
        raise _Refused(
            error(401, "authentication required", {"WWW-Authenticate": 'Basic realm="fresh"'})
        )


def build_app(service: Runtime) -> Starlette:
    """The starlette application of one service."""

    async def metrics(request: Request) -> Response:
        # ?scope=held: only the contracts this replica holds (Prometheus scraping every
        # replica that way sees each contract once; monitor/serve/metrics.py)
        scope = request.query_params.get("scope", "all")
        if scope not in SCOPES:
            return error(400, f"scope must be one of {', '.join(SCOPES)}, not {scope[:40]!r}")
        # Streamed in pieces (100,000 contracts are ~140 MB of text). The first piece is
        # pulled here: reading the state and building the text happen then, so a store
        # that fails is still a 500, not a response cut short.
        pieces = service.metrics.stream(scope)
        first = await run_in_threadpool(next, pieces)
        return StreamingResponse(itertools.chain((first,), pieces), media_type=CONTENT_TYPE)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if not service.config_loaded:
            return error(503, "configuration not loaded")
        try:
            await run_in_threadpool(service.store.ping)
        except Exception as exc:
            return error(503, f"state store unreachable: {exc}")
        return JSONResponse({"status": "ready", "contracts": len(service.project.contracts)})

    async def contracts(request: Request) -> Response:
        _guard(service, request)
        selectors = request.query_params.getlist("select")
        try:
            chosen = service.project.select(selectors)
        except UsageError as exc:
            return error(400, str(exc))
        states = await run_in_threadpool(service.store.states)
        ends = service.maintenance_until()
        results = [
            Result(c, states[c.name].to_verdict(), ends.get(c.name))
            for c in chosen
            if c.name in states
        ]
        return JSONResponse(report_to_json(service.clock.now(), results))

    async def one_contract(request: Request) -> Response:
        _guard(service, request)
        name = request.path_params["name"]
        contract = service.contract(name)
        if contract is None:
            return error(404, f"no contract named {name!r}")
        limit = _int_param(request, "limit", HISTORY_LIMIT, 1, 1000)
        state = await run_in_threadpool(service.store.state, name)
        if state is None:
            return error(404, f"contract {name!r} has not been checked yet")
        history = await run_in_threadpool(service.store.history, name, limit)
        body = verdict_to_json(contract, state.to_verdict(), service.maintenance_until().get(name))
        body["checked_at"] = iso_z(state.checked_at)
        body["history"] = [
            {
                "checked_at": iso_z(h.checked_at),
                "status": h.status.value,
                "last_update": iso_z(h.last_update),
                "error": h.error,
                "detail": h.detail,
            }
            for h in history
        ]
        return JSONResponse(body)

    async def ping(request: Request) -> Response:
        name = request.path_params["name"]
        kind = PING_KINDS.get(request.path_params.get("kind", ""))
        if kind is None:
            return error(404, "ping endpoints are /ping/{name}[/start|/fail|/log]")
        token = service.project.settings.server.ping_token
        if token:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), token.encode()
            ):
                return error(
                    401, "a valid Bearer token is required", {"WWW-Authenticate": "Bearer"}
                )
        contract = service.contract(name)
        if contract is None:
            return error(404, f"no contract named {name!r}")
        if not isinstance(contract.source, HeartbeatSource):
            return error(
                409,
                f"contract {name!r} reads a {contract.kind} source, not heartbeats "
                "(declare it with `heartbeat: {}` to ping it)",
            )
        exit_code = _int_param(request, "exit_code", None, *EXIT_CODE_RANGE)
        duration = _float_param(request, "duration", MAX_DURATION)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > OUTPUT_LIMIT):
            return error(413, f"the output tail is limited to {OUTPUT_LIMIT} bytes")
        body = b""
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > OUTPUT_LIMIT:
                    return error(413, f"the output tail is limited to {OUTPUT_LIMIT} bytes")
        except ClientDisconnect:  # gone, or cut by the read timeout: nothing is recorded
            return error(400, "the request body was not sent in full")
        output = body.decode("utf-8", errors="replace") if body else None
        at = service.clock.now()
        await run_in_threadpool(record_ping, service, name, kind, at, exit_code, duration, output)
        service.scheduler.poke(name)
        log.info(
            f"ping {kind} for {name}",
            extra={"event": "ping", "contract": name, "kind": kind, "exit_code": exit_code},
        )
        return JSONResponse(
            {"contract": name, "kind": kind, "at": _iso(at), "exit_code": exit_code}
        )

    async def lineage(request: Request) -> Response:
        # OpenLineage events (SPEC 12): the ping token, never basic auth (lineage_http.py).
        return await receive_lineage(service, request)

    async def openapi(request: Request) -> Response:
        _guard(service, request)
        return JSONResponse(document())

    async def index(request: Request) -> Response:
        _guard(service, request)
        return await status_page(service, request)

    async def contract_html(request: Request) -> Response:
        _guard(service, request)
        return await contract_page(service, request)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refused)
        return exc.response

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def fresh_error(request: Request, exc: Exception) -> Response:
        status = 400 if isinstance(exc, UsageError) else 500
        return error(status, str(exc))

    async def crash(request: Request, exc: Exception) -> Response:
        # starlette re-raises after this answer, and uvicorn logs the traceback
        return error(500, "internal error (see the service log)")

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/contracts/{name}", contract_html, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/contracts", contracts, methods=["GET"]),
        Route("/api/v1/contracts/{name}", one_contract, methods=["GET"]),
        Route("/api/v1/ping/{name}", ping, methods=["POST"]),
        Route("/api/v1/ping/{name}/{kind}", ping, methods=["POST"]),
        Route("/api/v1/lineage", lineage, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            _Refused: refused,
            HTTPException: http_error,
            FreshError: fresh_error,
            Exception: crash,
        },
    )
    app.router.redirect_slashes = False
    app.router.default = relative_slash_redirect(app.router)
    return app


def record_ping(
    service: Runtime,
    name: str,
    kind: PingKind,
    at: datetime,
    exit_code: int | None,
    duration: float | None,
    output: str | None,
) -> None:
    """Store one heartbeat through the validation `fresh ping` uses too."""
    record(
        service.store,
        service.project.by_name(),
        name,
        kind,
        at,
        exit_code=exit_code,
        duration=duration,
        output=output,
    )


# Plain ASCII numbers only (JSON's grammar): Python's int()/float() also take "1_000",
# " 7 ", "١٢", "nan" and "inf", none of which a client of this API means. The range check
# after parsing refuses "1e308" and what overflows to inf.
_INT = re.compile(r"-?[0-9]{1,10}", re.ASCII)
_SECONDS = re.compile(r"[0-9]{1,15}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", re.ASCII)


def _int_param(request: Request, key: str, default: int | None, low: int, high: int) -> Any:
    raw = request.query_params.get(key)
    if raw is None:  # an empty `?key=` is no number either: 400, as the document says
        return default
    if not _INT.fullmatch(raw):
        raise HTTPException(400, f"{key} must be an integer, not {raw[:40]!r}")
    value = int(raw)
    if not low <= value <= high:
        raise HTTPException(400, f"{key} must be between {low} and {high}")
    return value


def _float_param(request: Request, key: str, high: float) -> float | None:
    raw = request.query_params.get(key)
    if raw is None:  # an empty `?key=` is no number either: 400, as the document says
        return None
    if not _SECONDS.fullmatch(raw):
        raise HTTPException(400, f"{key} must be a number of seconds, not {raw[:40]!r}")
    value = float(raw)
    if not 0 <= value <= high:
        raise HTTPException(400, f"{key} must be between 0 and {high:.0f} seconds")
    return value


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service handles SIGTERM/SIGINT/SIGHUP,
    so a graceful stop exits 0 (uvicorn ≥ 0.29 re-raises the signal after shutting down)."""

    def install_signal_handlers(self) -> None:  # older uvicorn
        return None

    def capture_signals(self) -> Any:
        import contextlib

        return contextlib.nullcontext()


def make_server(
    app: Starlette, sock: socket.socket, read_timeout: float | None = None
) -> uvicorn.Server:
    """A uvicorn server for `app` on an already bound socket, logging through ours.

    Connections are closed when idle after a response (KEEP_ALIVE_TIMEOUT) or when a
    request is not complete within `read_timeout` seconds (default READ_TIMEOUT, 60 s)."""
    config = uvicorn.Config(
        app,
        http=timed_protocol(READ_TIMEOUT if read_timeout is None else read_timeout),
        timeout_keep_alive=int(KEEP_ALIVE_TIMEOUT),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    return _Server(config)
