"""`fresh ping NAME [--start|--fail [--exit-code N]]`, into the store or to a running serve."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from monitor.cli.app import app
from monitor.store import Ping, Store
from tests.integration.cli_project import clean_env, fresh, make_project
from tests.servers import free_port


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def pings(project: Path, name: str) -> list[Ping]:
    with Store.open("sqlite:///.fresh/state.db", project) as store:
        return list(reversed(store.pings(name)))


def test_a_ping_records_a_success(project: Path) -> None:
    res = fresh("ping", "nightly_export", cwd=project)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    [ping] = pings(project, "nightly_export")
    assert (ping.kind, ping.output) == ("success", None)  # /dev/null is not read


def test_an_unknown_contract_exits_2_with_a_did_you_mean_and_no_traceback(project: Path) -> None:
    res = fresh("ping", "nightly_exprot", cwd=project)
    assert res.returncode == 2
    assert "unknown contract 'nightly_exprot' (did you mean 'nightly_export'?)" in res.stderr
    assert "Traceback" not in res.stderr
    assert pings(project, "nightly_exprot") == []


def test_a_contract_that_is_not_a_heartbeat_is_refused(project: Path) -> None:
    res = fresh("ping", "orders", cwd=project)
    assert res.returncode == 2
    assert "not `heartbeat: {}`" in res.stderr


def test_piped_standard_input_is_kept_as_the_output_tail_of_a_fail(project: Path) -> None:
    res = fresh(
        "ping", "nightly_export", "--fail", "--exit-code", "4",
        cwd=project, stdin=None, input="x" * 20_000 + "\nERROR: disk full\n",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    [ping] = pings(project, "nightly_export")
    assert (ping.kind, ping.exit_code) == ("fail", 4)
    assert ping.output is not None and ping.output.endswith("ERROR: disk full\n")
    assert len(ping.output) == 10 * 1024


def test_start_then_success_and_an_exit_code_alone_says_which(project: Path) -> None:
    assert fresh("ping", "hourly_load", "--start", cwd=project).returncode == 0
    assert fresh("ping", "hourly_load", "--exit-code", "0", cwd=project).returncode == 0
    assert fresh("ping", "hourly_load", "--exit-code", "9", cwd=project).returncode == 0
    assert [(p.kind, p.exit_code) for p in pings(project, "hourly_load")] == [
        ("start", None),
        ("success", 0),
        ("fail", 9),
    ]


def test_start_and_fail_together_are_a_usage_error(project: Path) -> None:
    res = fresh("ping", "hourly_load", "--start", "--fail", cwd=project)
    assert res.returncode == 2 and "cannot be combined" in res.stderr


def test_ping_through_the_cli_runner_reads_its_input(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.delenv("FRESH_URL", raising=False)
    result = CliRunner().invoke(app, ["ping", "nightly_export", "--fail"], input="boom\n")
    assert result.exit_code == 0, result.output
    assert pings(project, "nightly_export")[0].output == "boom\n"


# --- to a running serve ----------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        payload = b'{"error": "unauthorized"}' if self.status == 401 else b'{"ok": true}'
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"seen": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_with_fresh_url_the_ping_is_posted_with_the_token_and_no_config_is_needed(
    tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    env = clean_env(FRESH_URL=url, FRESH_PING_TOKEN="tok")
    res = fresh("ping", "nightly_export", "--fail", "--exit-code", "3", cwd=tmp_path, env=env,
                stdin=None, input="tail\n")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert handler.seen == [
        {
            "path": "/api/v1/ping/nightly_export/fail?exit_code=3",
            "auth": "Bearer tok",
            "body": b"tail\n",
        }
    ]


def test_fresh_run_with_url_posts_start_and_end(
    tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    res = fresh("run", "--url", url, "nightly_export", "--", "sh", "-c", "echo out; exit 2",
                cwd=tmp_path)  # fmt: skip
    assert (res.returncode, res.stdout) == (2, "out\n")
    start, end = handler.seen
    assert start["path"] == "/api/v1/ping/nightly_export/start"
    assert end["path"].startswith("/api/v1/ping/nightly_export/fail?exit_code=2&duration=")
    assert end["body"] == b"out\n"


def test_a_refused_token_and_a_dead_server_exit_1_with_a_clear_message(
    tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    handler.status = 401
    res = fresh("ping", "nightly_export", "--url", url, cwd=tmp_path)
    assert res.returncode == 1
    assert "refused the ping (401)" in res.stderr and "FRESH_PING_TOKEN" in res.stderr
    res = fresh("ping", "nightly_export", "--url", f"http://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert res.returncode == 1
    assert "cannot reach fresh serve at http://127.0.0.1:" in res.stderr
    assert "Traceback" not in res.stderr
