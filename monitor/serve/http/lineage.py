"""`POST /api/v1/lineage` (SPEC 12): OpenLineage events, as a Marquez-style backend takes them.

One event or a JSON array of them; `Content-Encoding: gzip` accepted, the 1 MB limit applies
after decompression (413). Guarded by `server.ping_token` like the pings, never by
`server.auth`. A RunEvent of a watched job, or writing a watched dataset, is stored (201);
one nothing watches is answered 202 and not stored; DatasetEvents and JobEvents get 200 and
are ignored. A bad event refuses the whole request with 400 naming the field, and nothing of
it is stored. `fresh_lineage_events_total{result="stored|ignored|refused"}` counts events.
"""

from __future__ import annotations

import hmac
import logging
import zlib

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from monitor.core.lineage import MAX_BODY, LineageRefused, RunEvent, parse
from monitor.core.models import Contract, OpenLineageSource
from monitor.serve.runtime import Runtime
from monitor.store.lineage import record

log = logging.getLogger("fresh.lineage")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    """The request body, gunzipped when it says so; _TooLarge past MAX_BODY either way."""
    gzipped = request.headers.get("content-encoding", "").strip().lower() in ("gzip", "x-gzip")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    body = bytearray()
    async for chunk in request.stream():
        if inflater is None:
            body += chunk
        else:
            # max_length bounds what one chunk may inflate to: a zip bomb stops here.
            body += inflater.decompress(chunk, MAX_BODY + 1 - len(body))
            if inflater.unconsumed_tail and len(body) > MAX_BODY:
                raise _TooLarge
        if len(body) > MAX_BODY:
            raise _TooLarge
    if inflater is not None:
        body += inflater.flush()
        if len(body) > MAX_BODY:
            raise _TooLarge
    return bytes(body)


def watched(contracts: tuple[Contract, ...]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(jobs, datasets) that `openlineage:` contracts watch, as (namespace, name)."""
    jobs: set[tuple[str, str]] = set()
    datasets: set[tuple[str, str]] = set()
    for c in contracts:
        src = c.source
        if isinstance(src, OpenLineageSource):
            if src.job is not None:
                jobs.add((src.namespace, src.job))
            elif src.dataset is not None:
                datasets.add((src.namespace, src.dataset))
    return jobs, datasets


def is_watched(ev: RunEvent, jobs: set[tuple[str, str]], datasets: set[tuple[str, str]]) -> bool:
    """Whether a contract reads this event: its job, or one of its outputs."""
    return (ev.job_namespace, ev.job_name) in jobs or any(o in datasets for o in ev.outputs)


async def lineage(service: Runtime, request: Request) -> Response:
    """The handler (build_app routes POST /api/v1/lineage here)."""
    token = service.project.settings.server.ping_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return _error(401, "a valid Bearer token is required", {"WWW-Authenticate": "Bearer"})
    declared = request.headers.get("content-length")
    gzipped = "gzip" in request.headers.get("content-encoding", "").lower()
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY and not gzipped:
        return _refuse(service, 413, f"events are limited to {MAX_BODY} bytes")
    try:
        body = await _body(request)
    except _TooLarge:
        return _refuse(service, 413, f"events are limited to {MAX_BODY} bytes (decompressed)")
    except zlib.error as exc:
        return _refuse(service, 400, f"the gzip body cannot be read ({exc})")
    except ClientDisconnect:
        return _refuse(service, 400, "the request body was not sent in full")
    try:
        parsed = parse(body)
    except LineageRefused as exc:
        return _refuse(service, 400, str(exc))
    jobs, datasets = watched(service.project.contracts)
    keep = [ev for ev in parsed.runs if is_watched(ev, jobs, datasets)]
    ignored = len(parsed.runs) - len(keep) + parsed.others
    if keep:
        await run_in_threadpool(record, service.store, keep, service.clock.now())
        for c in service.project.contracts:  # check the contracts these events concern now
            src = c.source
            if isinstance(src, OpenLineageSource) and any(_concerns(src, ev) for ev in keep):
                service.scheduler.poke(c.name)
    service.metrics.count_lineage("stored", len(keep))
    service.metrics.count_lineage("ignored", ignored)
    log.info(
        "lineage events",
        extra={"event": "lineage", "stored": len(keep), "ignored": ignored},
    )
    status = 201 if keep else (202 if parsed.runs else 200)
    return JSONResponse({"stored": len(keep), "ignored": ignored}, status_code=status)


def _concerns(src: OpenLineageSource, ev: RunEvent) -> bool:
    if src.job is not None:
        return (src.namespace, src.job) == (ev.job_namespace, ev.job_name)
    return (src.namespace, str(src.dataset)) in ev.outputs


def _refuse(service: Runtime, status: int, message: str) -> JSONResponse:
    service.metrics.count_lineage("refused", 1)
    return _error(status, message)
