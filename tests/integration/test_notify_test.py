"""`fresh notify-test OWNER`: a test alert along the owner's routes, each URL reported."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from monitor.cli.app import app
from tests.integration.alert_receivers import HttpReceiver
from tests.servers import free_port


def write(tmp_path: Path, owners: str, extra: str = "") -> Path:
    (tmp_path / "fresh.yml").write_text(
        "state:\n  url: sqlite:///state.db\n"
        "server:\n  public_url: https://fresh.example.com\n"
        f"owners:\n{owners}{extra}"
    )
    (tmp_path / "checks").mkdir(exist_ok=True)
    return tmp_path / "fresh.yml"


def test_it_sends_to_the_owner_and_its_routes_and_reports_each_url(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    cfg = write(
        tmp_path,
        f"  ops:\n    notify: ['json://127.0.0.1:{receiver.port}/owner']\n",
        "alerts:\n  routes:\n"
        f"    - match: {{owner: ops}}\n      notify: ['json://127.0.0.1:{receiver.port}/route']\n"
        f"    - match: {{severity: critical}}\n      notify: ['json://127.0.0.1:{receiver.port}/no']\n",
    )
    result = CliRunner().invoke(app, ["notify-test", "ops", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert sorted(r.path for r in receiver.received) == ["/owner", "/route"]
    body = receiver.received[0].json()
    assert body["title"] == "fresh test alert for ops"
    assert "https://fresh.example.com/?owner=ops" in body["message"]
    assert result.output.splitlines()[-1] == "2 of 2 sent."


def test_a_failed_url_exits_1_and_its_password_is_masked(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    dead = free_port()
    cfg = write(
        tmp_path,
        "  ops:\n    notify:\n"
        f"      - 'json://127.0.0.1:{receiver.port}/ok'\n"
        f"      - 'json://bot:hunter2secret@127.0.0.1:{dead}/down'\n",
    )
    result = CliRunner().invoke(app, ["notify-test", "ops", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "hunter2secret" not in result.output
    lines = result.output.splitlines()
    assert lines[0] == f"ok      json://127.0.0.1:{receiver.port}/ok"
    assert lines[1].startswith(f"FAILED  json://bot:***@127.0.0.1:{dead}/down")
    assert lines[-1] == "1 of 2 sent."


def test_an_undeclared_owner_uses_the_fallback(tmp_path: Path, receiver: HttpReceiver) -> None:
    cfg = write(
        tmp_path,
        "  ops:\n    notify: []\n",
        f"alerts:\n  fallback: ['json://127.0.0.1:{receiver.port}/fallback']\n",
    )
    result = CliRunner().invoke(app, ["notify-test", "ghost", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert [r.path for r in receiver.received] == ["/fallback"]


def test_an_owner_with_nowhere_to_send_is_a_usage_error(tmp_path: Path) -> None:
    cfg = write(tmp_path, "  ops:\n    notify: []\n")
    result = CliRunner().invoke(app, ["notify-test", "ops", "--config", str(cfg)])
    assert result.exit_code == 2 and "no notify URLs" in result.output
