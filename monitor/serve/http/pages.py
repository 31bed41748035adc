"""HTTP glue for the status page: `GET /` and `GET /contracts/{name}`.

Reads the same verdicts the API serves (as typed `Result`s: contract, verdict, maintenance
end) plus recent history from the store, and hands them to the pure renderer
(statuspage.py, which formats them once and fills the Jinja2 templates in templates/)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from monitor.report.results import Result
from monitor.serve.http.statuspage import (
    STATUSES,
    Filters,
    PageOptions,
    render_contract,
    render_index,
    render_missing,
)
from monitor.sources import explain_contract

if TYPE_CHECKING:
    from monitor.serve.runtime import Runtime
    from monitor.store import HistoryEntry, StoredState

SPARK_WINDOW = timedelta(days=2)
REFRESH_SECONDS = 30


def _options(service: Runtime) -> PageOptions:
    server = service.project.settings.server
    return PageOptions(
        refresh_seconds=REFRESH_SECONDS,
        dashboard_url=server.dashboard_url,
        links={"JSON": "/api/v1/contracts", "metrics": "/metrics"},
    )


def _filters(request: Request) -> Filters:
    q = request.query_params
    return Filters(
        owners=tuple(v for v in q.getlist("owner") if v),
        tags=tuple(v for v in q.getlist("tag") if v),
        statuses=tuple(v for v in q.getlist("status") if v in STATUSES),
    )


def _results(service: Runtime) -> list[Result]:
    states = service.store.states()
    ends = service.maintenance_until()
    return [
        Result(c, states[c.name].to_verdict(), ends.get(c.name))
        for c in service.project.contracts
        if c.name in states
    ]


async def status_page(service: Runtime, request: Request) -> Response:
    """`GET /`: every contract, worst first, filtered by `?owner=`, `?tag=`, `?status=`."""
    now = service.clock.now()

    def load() -> tuple[list[Result], dict[str, list[str]]]:
        return _results(service), service.store.recent_statuses(now - SPARK_WINDOW)

    results, sparks = await run_in_threadpool(load)
    html = render_index(results, sparks, _filters(request), now, _options(service))
    return HTMLResponse(html)


async def contract_page(service: Runtime, request: Request) -> Response:
    """`GET /contracts/{name}`: one contract with its history, read and recent alerts."""
    name = request.path_params["name"]
    contract = service.contract(name)
    if contract is None:
        return HTMLResponse(render_missing(name), status_code=404)
    now = service.clock.now()

    def load() -> tuple[StoredState | None, list[HistoryEntry], list[dict[str, Any]], str]:
        state = service.store.state(name)
        hist = service.store.history(name, 50)
        alerts = service.store.recent_transitions(name, 20)
        try:
            explained = explain_contract(contract, service.project.settings)
        except Exception as exc:  # the page still shows everything else
            explained = f"(cannot describe this read: {exc})"
        return state, hist, alerts, explained

    state, hist, alerts, explained = await run_in_threadpool(load)
    result = None
    if state is not None:
        result = Result(contract, state.to_verdict(), service.maintenance_until().get(name))
    html = render_contract(contract, result, hist, explained, alerts, now, _options(service))
    return HTMLResponse(html)
