"""Heartbeats: pings in a real store (SQLite and PostgreSQL), the readings they give, the
validation every recorder shares, and the client that POSTs to a running serve."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from monitor.config.settings import Settings, State
from monitor.core.errors import UsageError
from monitor.core.models import Contract, Expectation, HeartbeatSource, TableSource
from monitor.sources.heartbeat import pings as heartbeat
from monitor.sources.heartbeat import reader as source
from monitor.store import OUTPUT_LIMIT, Store

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def beat(name: str) -> Contract:
    return Contract(
        name=name,
        owner="ops",
        warehouse="main",
        source=HeartbeatSource(),
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


CONTRACTS = {
    c.name: c
    for c in [
        beat("nightly_export"),
        beat("hourly_load"),
        Contract(
            name="orders",
            owner="ops",
            warehouse="main",
            source=TableSource("raw.orders", "_loaded_at"),
            expectation=Expectation(error_after=timedelta(hours=1)),
        ),
    ]
}


@dataclass(frozen=True)
class Ctx:
    settings: Settings
    now: datetime
    store: object | None = None


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("pg_module_url")
    with Store.open(url, tmp_path) as s:
        with s.write() as conn:  # the module's PG database is shared: start empty
            conn.execute(sa.text("DELETE FROM pings"))
        yield s


def reading(store: Store, name: str) -> Any:
    settings = Settings(base_dir=Path("."))
    [r] = source.read_batch([CONTRACTS[name]], Ctx(settings, T0 + 10 * MIN, store))
    return r


def test_a_contract_that_never_pinged_reads_as_no_data(store: Store) -> None:
    r = reading(store, "nightly_export")
    assert (r.last_update, r.started_at, r.error) == (None, None, None)
    assert r.detail == "no ping received yet"


def test_the_newest_success_is_the_last_update(store: Store) -> None:
    store.record_ping("nightly_export", "success", T0)
    store.record_ping("nightly_export", "success", T0 + 2 * MIN)
    store.record_ping("hourly_load", "success", T0 + 5 * MIN)
    r = reading(store, "nightly_export")
    assert r.last_update == T0 + 2 * MIN
    assert (r.started_at, r.detail, r.error) == (None, None, None)


def test_a_start_with_no_end_is_a_run_in_progress(store: Store) -> None:
    store.record_ping("nightly_export", "success", T0)
    store.record_ping("nightly_export", "start", T0 + MIN, run_id="r1")
    r = reading(store, "nightly_export")
    assert r.last_update == T0
    assert r.started_at == T0 + MIN
    store.record_ping("nightly_export", "success", T0 + 3 * MIN, run_id="r1", duration=120.0)
    r = reading(store, "nightly_export")
    assert (r.last_update, r.started_at) == (T0 + 3 * MIN, None)


def test_a_fail_since_the_last_success_is_told_with_its_exit_code_and_output(
    store: Store,
) -> None:
    store.record_ping("nightly_export", "success", T0)
    store.record_ping("nightly_export", "fail", T0 + MIN, exit_code=1, output="first")
    store.record_ping("nightly_export", "start", T0 + 2 * MIN)
    store.record_ping("nightly_export", "fail", T0 + 3 * MIN, exit_code=3, output="disk full\n")
    r = reading(store, "nightly_export")
    assert r.last_update == T0
    assert r.started_at is None  # the start ended with the fail
    assert r.detail == "last ping was /fail, exit code 3 (2 failed runs since the last success)"
    hb = store.heartbeat_states(["nightly_export"])["nightly_export"]
    assert hb.last_fail is not None
    assert (hb.last_fail.exit_code, hb.last_fail.output) == (3, "disk full\n")
    assert hb.fails_since_success == 2


def test_a_new_run_after_a_fail_says_the_previous_run_failed(store: Store) -> None:
    store.record_ping("nightly_export", "fail", T0, exit_code=2)
    store.record_ping("nightly_export", "start", T0 + MIN)
    r = reading(store, "nightly_export")
    assert r.last_update is None and r.started_at == T0 + MIN
    assert r.detail == "the previous run failed, exit code 2"


def test_a_success_after_a_fail_clears_it(store: Store) -> None:
    store.record_ping("nightly_export", "fail", T0, exit_code=2)
    store.record_ping("nightly_export", "success", T0 + MIN)
    r = reading(store, "nightly_export")
    assert (r.last_update, r.detail) == (T0 + MIN, None)
    assert store.heartbeat_states(["nightly_export"])["nightly_export"].fails_since_success == 0


def test_the_source_opens_the_configured_store_when_none_is_given(tmp_path: Path) -> None:
    settings = Settings(base_dir=tmp_path, state=State(url="sqlite:///.fresh/state.db"))
    with Store.from_settings(settings) as s:
        s.record_ping("nightly_export", "success", T0)
    [r] = source.read_batch([CONTRACTS["nightly_export"]], Ctx(settings, T0))
    assert r.last_update == T0
    assert "fresh ping nightly_export" in source.explain(
        CONTRACTS["nightly_export"], Ctx(settings, T0)
    )


def test_an_unreachable_store_is_an_error_reading_not_a_crash(tmp_path: Path) -> None:
    settings = Settings(
        base_dir=tmp_path, state=State(url="postgresql+psycopg://u:pw@127.0.0.1:1/x")
    )
    [r] = source.read_batch([CONTRACTS["nightly_export"]], Ctx(settings, T0))
    assert r.error is not None and "127.0.0.1:1" in r.error and "pw" not in r.error


def test_record_refuses_an_unknown_contract_with_a_did_you_mean(store: Store) -> None:
    with pytest.raises(heartbeat.UnknownContractError, match="did you mean 'nightly_export'"):
        heartbeat.record(store, CONTRACTS, "nightly_exprot", "success", T0)
    with pytest.raises(heartbeat.NotAHeartbeatError, match="table source"):
        heartbeat.record(store, CONTRACTS, "orders", "success", T0)
    assert store.pings("nightly_exprot") == [] and store.pings("orders") == []


def test_record_keeps_the_last_10_kb_of_output(store: Store) -> None:
    output = ("é" * 10_000 + "THE END").encode()
    ping = heartbeat.record(store, CONTRACTS, "hourly_load", "fail", T0, exit_code=1, output=output)
    assert ping.output is not None and ping.output.endswith("THE END")
    assert len(ping.output.encode()) <= OUTPUT_LIMIT
    assert store.pings("hourly_load")[0].output == ping.output


def test_a_ping_pulls_the_next_check_forward(store: Store) -> None:
    from monitor.core.models import Status, Verdict

    v = Verdict("hourly_load", Status.STALE, T0, None, None, None, "stale: no data")
    store.save_verdicts([v], CONTRACTS, T0)
    store.record_ping("hourly_load", "success", T0 + MIN)
    state = store.state("hourly_load")
    assert state is not None and state.next_check_at == T0 + MIN


# --- POSTing to a running serve -------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, bytes]]] = {}
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        status, payload = self.answers.get(self.path.split("?")[0], (200, b'{"ok": true}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_post_ping_sends_kind_exit_code_duration_token_and_output(
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    req = heartbeat.PingRequest("nightly_export", "fail", exit_code=3, duration=1.5, output=b"x")
    heartbeat.post_ping(url + "/", req, "tok")
    heartbeat.post_ping(url, heartbeat.PingRequest("a b", "start"), None)
    assert handler.seen == [
        {
            "path": "/api/v1/ping/nightly_export/fail?exit_code=3&duration=1.500",
            "auth": "Bearer tok",
            "body": b"x",
        },
        {"path": "/api/v1/ping/a%20b/start", "auth": None, "body": b""},
    ]


def test_post_ping_explains_refusals_and_unreachable_servers(
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    handler.answers["/api/v1/ping/nope"] = (
        404,
        json.dumps({"error": "unknown contract 'nope' (did you mean 'nightly_export'?)"}).encode(),
    )
    handler.answers["/api/v1/ping/locked"] = (401, b'{"error": "unauthorized"}')
    with pytest.raises(UsageError, match="did you mean 'nightly_export'"):
        heartbeat.post_ping(url, heartbeat.PingRequest("nope", "success"), None)
    with pytest.raises(heartbeat.PingDeliveryError, match="FRESH_PING_TOKEN"):
        heartbeat.post_ping(url, heartbeat.PingRequest("locked", "success"), "bad")
    from tests.servers import free_port

    dead = f"http://user:s3cret@127.0.0.1:{free_port()}"
    with pytest.raises(heartbeat.PingDeliveryError, match="cannot reach fresh serve") as err:
        heartbeat.post_ping(dead, heartbeat.PingRequest("x", "success"), None)
    assert "s3cret" not in str(err.value)


def test_a_run_started_and_never_finished_turns_stale_after_error_after(store: Store) -> None:
    from monitor.core.evaluate import evaluate
    from monitor.core.models import Status

    store.record_ping("nightly_export", "success", T0)
    store.record_ping("nightly_export", "start", T0 + MIN)
    settings = Settings(base_dir=Path("."))
    now = T0 + MIN + timedelta(hours=2)
    [r] = source.read_batch([CONTRACTS["nightly_export"]], Ctx(settings, now, store))
    verdict = evaluate(CONTRACTS["nightly_export"], r, now)
    assert verdict.status is Status.STALE
    assert "started 2h ago, never finished" in (verdict.detail or verdict.description)
