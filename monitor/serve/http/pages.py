"""HTTP glue for the status page: `GET /` and `GET /contracts/{name}`.

Reads the same verdicts the API serves (monitor/report/results.py's JSON objects) plus recent
history from the store, and hands them to the pure renderer (statuspage.py, which fills the
Jinja2 templates in templates/)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from monitor.report.results import iso_z, verdict_to_json
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


def _rows(service: Runtime) -> list[dict[str, Any]]:
    states = service.store.states()
    ends = service.maintenance_until()
    rows = []
    for contract in service.project.contracts:
        state = states.get(contract.name)
        if state is None:
            continue
        row = verdict_to_json(contract, state.to_verdict(), ends.get(contract.name))
        row["description"] = contract.description
        rows.append(row)
    return rows


async def status_page(service: Runtime, request: Request) -> Response:
    """`GET /`: every contract, worst first, filtered by `?owner=`, `?tag=`, `?status=`."""
    now = service.clock.now()

    def load() -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        return _rows(service), service.store.recent_statuses(now - SPARK_WINDOW)

    rows, sparks = await run_in_threadpool(load)
    html = render_index(rows, sparks, _filters(request), now, _options(service))
    return HTMLResponse(html)


async def contract_page(service: Runtime, request: Request) -> Response:
    """`GET /contracts/{name}`: one contract with its history, read and recent alerts."""
    name = request.path_params["name"]
    contract = service.contract(name)
    if contract is None:
        return HTMLResponse(render_missing(name), status_code=404)
    now = service.clock.now()

    def load() -> tuple[Any, list[Any], list[dict[str, Any]], str]:
        state = service.store.state(name)
        hist = service.store.history(name, 50)
        alerts = service.store.recent_transitions(name, 20)
        try:
            explained = explain_contract(contract, service.project.settings)
        except Exception as exc:  # the page still shows everything else
            explained = f"(cannot describe this read: {exc})"
        return state, hist, alerts, explained

    state, hist, alerts, explained = await run_in_threadpool(load)
    if state is None:
        row: dict[str, Any] = {
            "contract": name,
            "status": "unknown",
            "owner": contract.owner,
            "severity": contract.severity.value,
            "warehouse": contract.warehouse,
            "tags": list(contract.tags),
            "metadata": dict(contract.metadata),
        }
    else:
        row = verdict_to_json(contract, state.to_verdict(), service.maintenance_until().get(name))
    row["description"] = contract.description
    history = [
        {
            "checked_at": iso_z(h.checked_at),
            "status": h.status.value,
            "last_update": iso_z(h.last_update),
        }
        for h in hist
    ]
    alert_rows = [
        {
            "at": iso_z(a["at"]),
            "kind": a["kind"] + (" (silenced)" if a["silenced"] else ""),
            "from_status": a["from_status"],
            "to_status": a["to_status"],
        }
        for a in alerts
    ]
    html = render_contract(row, history, explained, alert_rows, now, _options(service))
    return HTMLResponse(html)

