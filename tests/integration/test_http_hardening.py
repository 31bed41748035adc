"""`fresh serve`'s HTTP side against hostile clients, on a real subprocess (and, for read
timeouts, on the real uvicorn server in-process with a short timeout): security headers,
links, relative redirects, bounded numbers, connections that stall."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.integration.serving import Served, serving, wait_for, write_duckdb, write_project

FRESH_YML = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
"""

CHECKS = """\
defaults:
  owner: ops-data-team
  warehouse: main
contracts:
  - name: shop.orders
    table: orders
    column: t
    error_after: 1h
    metadata:
      runbook: "javascript:alert(document.cookie)"
      docs: "https://wiki.example.com/orders"
  - name: shop.payments
    table: orders
    column: t
    error_after: 1h
    metadata: {runbook: "https://wiki.example.com/runbooks/payments"}
  - name: backup
    heartbeat: {}
    error_after: 1d
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from datetime import UTC, datetime

    directory = tmp_path_factory.mktemp("hardening")
    write_project(directory, FRESH_YML, {"shop.yml": CHECKS})
    write_duckdb(directory / "warehouse.duckdb", {"orders": datetime.now(UTC)})
    with serving(directory) as s:
        wait_for(lambda: len(s.get_json("/api/v1/contracts")[1]["results"]) >= 2, timeout=60)
        yield s


def raw_get(served: Served, path: str, host: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_every_page_and_answer_carries_csp_and_frame_headers(served: Served) -> None:
    for path in ("/", "/contracts/shop.orders", "/contracts/nope", "/api/v1/contracts",
                 "/metrics", "/healthz", "/nowhere"):
        _, _, headers = served.request(path)
        csp = headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (path, headers)
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert headers.get("x-frame-options") == "DENY", path
        assert headers.get("x-content-type-options") == "nosniff", path


def test_a_javascript_runbook_is_shown_as_text_never_as_a_link(served: Served) -> None:
    status, body, _ = served.request("/contracts/shop.orders")
    html = body.decode()
    assert status == 200 and "javascript:alert(document.cookie)" in html
    assert 'href="javascript' not in html.lower()
    _, body, _ = served.request("/contracts/shop.payments")
    assert 'href="https://wiki.example.com/runbooks/payments"' in body.decode()


def test_a_trailing_slash_redirect_is_relative_and_ignores_the_host_header(
    served: Served,
) -> None:
    r = raw_get(served, "/api/v1/contracts/?select=tag:x", "evil.example.com")
    assert r.status in (301, 307, 308)
    assert r.getheader("location") == "/api/v1/contracts?select=tag:x"
    r = raw_get(served, "/contracts/shop.orders/", "evil.example.com")
    assert r.getheader("location") == "/contracts/shop.orders"
    # a path that would become a protocol-relative URL is a plain 404, never a redirect
    for path in ("//evil.example.com/", "//evil.example.com"):
        r = raw_get(served, path, "evil.example.com")
        assert r.status == 404 and r.getheader("location") is None, path


@pytest.mark.parametrize(
    "query",
    [
        "duration=1e308", "duration=1e400", "duration=nan", "duration=inf", "duration=-1",
        "duration=1_000", "duration=%20%201", "duration=%D9%A1", "duration=40000000",
        "exit_code=-1", "exit_code=256", "exit_code=99999999999999999999999", "exit_code=1.5",
        "exit_code=%EF%BC%91", "exit_code=1_0", "exit_code=" + "9" * 5000,
    ],
)
def test_numbers_out_of_range_are_refused_and_not_stored(served: Served, query: str) -> None:
    status, body, _ = served.request(f"/api/v1/ping/backup/fail?{query}", "POST")
    assert status == 400, (query, body)
    assert json.loads(body)["status"] == 400
    _, contract = served.get_json("/api/v1/contracts/backup")
    assert "exit code" not in json.dumps(contract)  # no ping was recorded


def test_the_api_limit_is_bounded(served: Served) -> None:
    for bad in ("0", "1001", "-5", "1e3", "nan", "9" * 400):
        assert served.request(f"/api/v1/contracts/shop.orders?limit={bad}")[0] == 400, bad
    assert served.request("/api/v1/contracts/shop.orders?limit=1000")[0] == 200


def test_in_range_numbers_are_kept(served: Served) -> None:
    status, body, _ = served.request("/api/v1/ping/backup?exit_code=0&duration=1.25e2", "POST")
    assert status == 200, body


def test_a_ping_whose_body_is_cut_off_records_nothing_and_logs_no_traceback(
    served: Served,
) -> None:
    head = b"POST /api/v1/ping/backup/fail?exit_code=9 HTTP/1.1\r\nHost: x\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as conn:
        conn.sendall(head + b"Content-Length: 100\r\n\r\n0123456789")
        time.sleep(0.5)
    _, contract = served.get_json("/api/v1/contracts/backup")  # still answering
    assert "exit code 9" not in json.dumps(contract)
    time.sleep(0.5)
    assert "Traceback" not in served.log() and "Exception" not in served.log()


# --- read timeouts (the real uvicorn server of `fresh serve`, a short timeout) -----------


@pytest.fixture
def short_timeout_server() -> Iterator[int]:
    """`make_server` (what `fresh serve` runs) with a 1.5 s read timeout, on a free port."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from monitor.serve.http.app import make_server

    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = make_server(app, sock, read_timeout=1.5)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=20)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def closed_after(port: int, sends: list[bytes], pause: float = 0.0) -> float:
    """Seconds until the server closes a connection that sends `sends` (with `pause`
    seconds between them) and then stalls."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        for chunk in sends:
            try:
                conn.sendall(chunk)
            except OSError:
                break  # closed while we were still trickling
            time.sleep(pause)
        try:
            while conn.recv(4096):
                pass
        except ConnectionResetError:
            pass
    return time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed(short_timeout_server: int) -> None:
    assert 1.0 <= closed_after(short_timeout_server, []) < 15


def test_half_a_request_line_is_closed(short_timeout_server: int) -> None:
    assert 1.0 <= closed_after(short_timeout_server, [b"GET /ec"]) < 15


def test_a_half_sent_body_is_closed(short_timeout_server: int) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
    assert 1.0 <= closed_after(short_timeout_server, [head]) < 15


def test_trickling_bytes_does_not_extend_the_deadline(short_timeout_server: int) -> None:
    request = b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    took = closed_after(short_timeout_server, [bytes([b]) for b in request], pause=0.2)
    assert took < 6, took  # 53 bytes at 0.2 s each would take 10 s


def test_a_normal_request_on_a_kept_alive_connection_still_works(
    short_timeout_server: int,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", short_timeout_server, timeout=30)
    for _ in range(3):
        conn.request("POST", "/echo", body=b"abc")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"3"
        time.sleep(0.8)  # 2.4 s on one connection: each request has its own deadline
    conn.close()


def test_fresh_serve_uses_a_read_timeout_of_at_most_60_seconds() -> None:
    from starlette.applications import Starlette

    from monitor.serve.http.app import make_server
    from monitor.serve.http.guard import TimedH11Protocol

    with socket.socket() as sock:
        server = make_server(Starlette(), sock)
        protocol = server.config.http
        assert isinstance(protocol, type) and issubclass(protocol, TimedH11Protocol)
        assert 0 < protocol.read_timeout <= 60
        assert 0 < server.config.timeout_keep_alive <= 60
