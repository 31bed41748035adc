"""Schema-driven fuzzing (schemathesis) of a real `fresh serve` against its own
`/api/v1/openapi.json` (SPEC section 16): no 5xx, every response matches the document
(status code, content type, headers, body schema), data the document allows is accepted
and data it forbids is refused, with and without credentials. And every endpoint the app
serves is in the document, and the other way round."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from starlette.routing import Route

from monitor.serve.http.app import PING_KINDS, build_app
from monitor.serve.http.openapi import document as build_document
from tests.integration.cli_project import clean_env
from tests.integration.serving import Served, serving, wait_for, write_duckdb, write_project

USER, PASSWORD, TOKEN = "admin", "s3cr3t-pass", "ping-t0ken"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
BEARER = f"Bearer {TOKEN}"
NAMES = ("shop.orders", "shop.empty", "nightly_export", "ünïcode name")
# Bounded so the two runs stay well under a minute on a loaded 2-core machine.
EXAMPLES = 20
# Without credentials every guarded endpoint answers 401 before reading anything: fewer
# examples show that as well as many.
EXAMPLES_WITHOUT_CREDENTIALS = 8

FRESH_YML = f"""\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
state:
  url: sqlite:///.fresh/state.db
server:
  ping_token: {TOKEN}
  auth: {{username: {USER}, password: {PASSWORD}}}
owners:
  ops:
    notify: []
"""

CHECKS = """\
defaults:
  owner: ops
  warehouse: main
contracts:
  - name: shop.orders
    table: orders
    column: t
    tags: [shop, revenue]
    metadata: {pii: false, runbook: "https://wiki.example.com/orders", rows: 3}
    warn_after: 20m
    error_after: 1h
  - name: shop.empty
    table: empty
    column: t
    severity: critical
    error_after: 1h
  - name: nightly_export
    heartbeat: {}
    warn_after: 1h
    error_after: 2h
    schedule: "0 6 * * *"
    timezone: Europe/Berlin
  - name: ünïcode name
    heartbeat: {}
    error_after: 1h
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `fresh serve` with server.auth and ping_token, every contract checked once."""
    tmp: Path = tmp_path_factory.mktemp("api_fuzz")
    write_project(tmp, FRESH_YML, {"all.yml": CHECKS})
    write_duckdb(
        tmp / "warehouse.duckdb",
        {"orders": datetime.now(UTC) - timedelta(minutes=30), "empty": None},
    )
    with serving(tmp, env=clean_env()) as s:

        def checked() -> bool:
            _, body = s.get_json("/api/v1/contracts", headers={"Authorization": BASIC})
            return len(body["results"]) == len(NAMES)

        wait_for(checked, timeout=60)
        yield s


@pytest.fixture(scope="module")
def document(served: Served) -> dict[str, Any]:
    status, body, _ = served.request("/api/v1/openapi.json", headers={"Authorization": BASIC})
    assert status == 200
    return cast(dict[str, Any], json.loads(body))


@pytest.fixture(scope="module")
def api(served: Served, document: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=served.url)
    return schema


def _operations() -> list[tuple[str, str]]:
    return [(m.upper(), p) for p, item in build_document()["paths"].items() for m in item]


def _can_be_invalid(method: str, path: str) -> bool:
    """Whether any input of the operation breaks its schema (a path `{name}` string cannot)."""
    op = build_document()["paths"][path][method.lower()]
    params = [p for p in op.get("parameters", []) if "$ref" not in p]
    return "requestBody" in op or any(p["schema"].get("type") != "string" for p in params)


OPERATIONS = _operations()
CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _can_be_invalid(method, path)
]
name_choice = st.one_of(st.none(), st.sampled_from(NAMES), st.sampled_from(NAMES))


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))


def _credentials(method: str, path: str) -> dict[str, str]:
    """The ping token where the document asks for it (pings, lineage), else basic auth."""
    security = build_document()["paths"][path][method.lower()].get("security", [])
    bearer = any("pingToken" in requirement for requirement in security)
    return {"Authorization": BEARER if bearer else BASIC}


def _fuzz(api: Any, method: str, path: str, mode: GenerationMode, headers: bool) -> None:
    """Run one operation's generated cases through every check of schemathesis."""
    operation = api[path][method]

    @fuzz_settings(EXAMPLES if headers else EXAMPLES_WITHOUT_CREDENTIALS)
    @given(case=operation.as_strategy(generation_mode=mode), name=name_choice)
    def run(case: Case, name: str | None) -> None:
        # Most cases aim `{name}` at a real contract, so more than 404s are exercised.
        if name is not None and case.path_parameters and "name" in case.path_parameters:
            case.path_parameters["name"] = name
        response = case.call_and_validate(
            headers=_credentials(method, path) if headers else None, timeout=30
        )
        if not headers and not path.startswith(("/metrics", "/healthz", "/readyz")):
            # Credentials are checked before anything else: without them, only 401.
            assert response.status_code == 401, (case.path, response.status_code)

    run()


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_the_api_matches_its_document_with_credentials(
    api: Any, method: str, path: str, mode: GenerationMode
) -> None:
    _fuzz(api, method, path, mode, headers=True)


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_the_api_matches_its_document_without_credentials(
    api: Any, method: str, path: str, mode: GenerationMode
) -> None:
    _fuzz(api, method, path, mode, headers=False)


def _served_paths() -> set[tuple[str, str]]:
    """(METHOD, path) of every route of the app, `{kind}` spelled out."""
    app = build_app(cast(Any, None))  # routes only: no handler runs
    out = set()
    for route in app.routes:
        assert isinstance(route, Route), route
        for method in route.methods or ():
            if method == "HEAD":
                continue  # starlette answers HEAD for every GET
            if "{kind}" in route.path:
                out |= {(method, route.path.replace("{kind}", k)) for k in PING_KINDS if k}
            else:
                out.add((method, route.path))
    return out


def test_every_served_endpoint_is_in_the_document_and_nothing_else() -> None:
    documented = {
        (method.upper(), path)
        for path, item in build_document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = _served_paths()
    assert served - documented == set(), (
        "served but not in monitor/serve/http/openapi.py's document (SPEC 16: every endpoint "
        "is in it): add them there"
    )
    assert documented - served == set(), "documented but not served"
    # And the document is valid OpenAPI 3.1 (schemathesis refuses an invalid one).
    schemathesis.openapi.from_dict(build_document()).validate()


def test_the_served_document_is_the_module_document(document: dict[str, Any]) -> None:
    assert document == json.loads(json.dumps(build_document()))
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", document["info"]["version"])


def test_an_empty_number_parameter_is_refused_as_the_document_says(served: Served) -> None:
    """Found by the fuzz run: `?limit=` and `?exit_code=` were read as absent (200)."""
    basic, bearer = {"Authorization": BASIC}, {"Authorization": BEARER}
    assert served.request("/api/v1/contracts/shop.orders?limit=", headers=basic)[0] == 400
    for query in ("exit_code=", "duration="):
        status, body, _ = served.request(
            f"/api/v1/ping/nightly_export?{query}", "POST", headers=bearer
        )
        assert status == 400 and query[:-1] in json.loads(body)["error"]
