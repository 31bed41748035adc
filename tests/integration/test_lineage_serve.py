"""OpenLineage events from the real openlineage-python client (HTTP transport, gzip, Bearer
token) into a real `fresh serve` with `server.auth` set too (SPEC 12)."""

from __future__ import annotations

import gzip
import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import Dataset, Job, Run, RunEvent, RunState
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)
from typer.testing import CliRunner

from monitor.cli.app import app
from tests.integration.serving import Served, sample, serving, wait_for

TOKEN = "s3cret-lineage-token"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
FRESH_YML = f"""\
state: {{url: 'sqlite:///state.db'}}
server:
  ping_token: {TOKEN}
  auth: {{username: ops, password: hunter2}}
owners:
  ops: {{notify: []}}
"""
CHECKS = """\
defaults: {owner: ops, error_after: 1h}
contracts:
  - name: orders_load
    openlineage: {namespace: airflow, job: orders_dag.load}
  - name: nightly_export
    openlineage: {namespace: airflow, job: export_dag.run}
  - name: orders_table
    openlineage: {namespace: "postgres://db:5432", dataset: public.orders}
"""


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Served]:
    (tmp_path / "fresh.yml").write_text(FRESH_YML)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks/lineage.yml").write_text(CHECKS)
    with serving(tmp_path) as s:
        yield s


def transport(served: Served, gzip_body: bool = True) -> HttpTransport:
    config = HttpConfig(
        url=served.url,
        auth=ApiKeyTokenProvider({"apiKey": TOKEN}),
        compression=HttpCompression.GZIP if gzip_body else None,
        timeout=10,
    )
    return HttpTransport(config)


def event(
    state: RunState,
    job: str,
    at: datetime,
    run_id: str | None = None,
    outputs: list[Dataset] | None = None,
) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=at.isoformat(),
        run=Run(runId=run_id or str(uuid.uuid4())),
        job=Job(namespace="airflow", name=job),
        producer=PRODUCER,
        outputs=outputs or [],
    )


def result(served: Served, name: str) -> dict[str, Any]:
    auth = {"Authorization": "Basic b3BzOmh1bnRlcjI="}  # ops:hunter2
    status, body = served.get_json(f"/api/v1/contracts/{name}", headers=auth)
    assert status == 200
    return body  # type: ignore[no-any-return]


def stored(served: Served) -> int:
    with sqlite3.connect(served.directory / "state.db") as con:
        return int(con.execute("SELECT count(*) FROM lineage_events").fetchone()[0])


def test_complete_makes_a_contract_fresh_and_fail_is_counted(served: Served) -> None:
    now = datetime.now(UTC)
    t = transport(served)
    run_id = str(uuid.uuid4())
    assert (
        t.emit(
            event(RunState.START, "orders_dag.load", now - timedelta(minutes=12), run_id)
        ).status_code
        == 201
    )
    assert (
        t.emit(
            event(RunState.COMPLETE, "orders_dag.load", now - timedelta(minutes=10), run_id)
        ).status_code
        == 201
    )
    got = wait_for(
        lambda: (r := result(served, "orders_load"))["status"] == "fresh" and r, timeout=60
    )
    assert got["last_update"] == (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    t.emit(event(RunState.FAIL, "orders_dag.load", now - timedelta(minutes=1)))
    got = wait_for(lambda: (r := result(served, "orders_load"))["detail"] and r, timeout=60)
    assert got["detail"] == "1 failed run (FAIL/ABORT) since the last COMPLETE"
    assert got["status"] == "fresh"
    text = served.metrics()
    assert sample(text, "fresh_lineage_events_total", result="stored") == 3


def test_a_start_never_finished_goes_stale(served: Served) -> None:
    now = datetime.now(UTC)
    t = transport(served, gzip_body=False)
    t.emit(event(RunState.COMPLETE, "export_dag.run", now - timedelta(hours=3)))
    t.emit(event(RunState.START, "export_dag.run", now - timedelta(hours=2)))
    # Stale from the very first check too (before any event): wait for the verdict that
    # saw the events, not just for "stale" (under load the test used to read the first one).
    got = wait_for(
        lambda: (
            (r := result(served, "nightly_export"))["status"] == "stale"
            and "never finished" in json.dumps(r)
            and r
        ),
        timeout=60,
    )
    assert got["last_update"] is not None


def test_a_dataset_contract_follows_its_producing_job(served: Served) -> None:
    now = datetime.now(UTC)
    orders = Dataset(namespace="postgres://db:5432", name="public.orders")
    other = Dataset(namespace="postgres://db:5432", name="public.customers")
    status = (
        transport(served)
        .emit(
            event(
                RunState.COMPLETE,
                "some_dbt_job",
                now - timedelta(minutes=5),
                outputs=[other, orders],
            )
        )
        .status_code
    )
    assert status == 201  # the job is not watched, but it writes a watched dataset
    got = wait_for(
        lambda: (r := result(served, "orders_table"))["status"] == "fresh" and r, timeout=60
    )
    assert got["last_update"] == (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_unwatched_runs_get_202_and_dataset_and_job_events_200(served: Served) -> None:
    now = datetime.now(UTC)
    t = transport(served)
    assert t.emit(event(RunState.COMPLETE, "nobody.cares", now)).status_code == 202
    assert stored(served) == 0
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    dataset_event = {
        "eventTime": now.isoformat(),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "postgres://db:5432", "name": "public.orders"},
    }
    status, body, _ = served.request(
        "/api/v1/lineage", "POST", json.dumps(dataset_event).encode(), headers
    )
    assert (status, json.loads(body)) == (200, {"stored": 0, "ignored": 1})
    assert sample(served.metrics(), "fresh_lineage_events_total", result="ignored") == 2


def test_a_malformed_event_is_refused_naming_the_field_and_nothing_is_stored(
    served: Served,
) -> None:
    now = datetime.now(UTC).isoformat()
    good = {
        "eventType": "COMPLETE",
        "eventTime": now,
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": "orders_dag.load"},
        "producer": PRODUCER,
    }
    bad = {**good, "run": {"runId": "not-a-uuid"}}
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    status, body, _ = served.request(
        "/api/v1/lineage", "POST", json.dumps([good, bad]).encode(), headers
    )
    assert status == 400
    assert json.loads(body)["error"] == "event 1: run.runId: a UUID is required"
    no_time = {**good, "eventTime": "2026-12-04T10:00:00"}  # no offset
    status, body, _ = served.request(
        "/api/v1/lineage", "POST", json.dumps(no_time).encode(), headers
    )
    assert (status, json.loads(body)["error"]) == (
        400,
        "eventTime: an ISO-8601 time with an offset is required",
    )
    assert stored(served) == 0
    assert sample(served.metrics(), "fresh_lineage_events_total", result="refused") == 2


def test_the_token_not_basic_auth_guards_it_and_1_mb_applies_after_gzip(served: Served) -> None:
    body = json.dumps({"job": {"namespace": "a", "name": "b"}}).encode()
    basic = {"Authorization": "Basic b3BzOmh1bnRlcjI=", "Content-Type": "application/json"}
    assert served.request("/api/v1/lineage", "POST", body, basic)[0] == 401
    bomb = gzip.compress(b"[" + b" " * (2 * 1024 * 1024) + b"]")
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    assert len(bomb) < 10_000
    status, answer, _ = served.request("/api/v1/lineage", "POST", bomb, headers)
    assert status == 413, answer
    status, doc = served.get_json("/api/v1/openapi.json", headers=basic)
    assert "/api/v1/lineage" in doc["paths"]


def test_fresh_check_reads_the_events_serve_stored(served: Served) -> None:
    now = datetime.now(UTC)
    transport(served).emit(event(RunState.COMPLETE, "orders_dag.load", now - timedelta(minutes=3)))
    served.stop()
    runner = CliRunner()
    out = runner.invoke(
        app, ["check", "--config", str(served.directory / "fresh.yml"), "-f", "json"]
    )
    got = {r["contract"]: r for r in json.loads(out.stdout)["results"]}
    assert got["orders_load"]["status"] == "fresh"
    assert got["nightly_export"]["status"] == "stale"  # no event at all
    assert got["nightly_export"]["detail"] == (
        "no OpenLineage run event received for job airflow/export_dag.run"
    )
    earlier = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = runner.invoke(
        app,
        ["check", "--config", str(served.directory / "fresh.yml"), "-f", "json", "--at", earlier],
    )
    got = {r["contract"]: r for r in json.loads(out.stdout)["results"]}
    assert got["orders_load"]["last_update"] is None  # the COMPLETE came after --at
