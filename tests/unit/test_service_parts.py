"""Small pieces of `fresh serve`: listen addresses, log lines, secret masking, the reload
filter, batch keys."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import redact
from monitor.core.errors import UsageError
from monitor.core.models import (
    Contract,
    Expectation,
    FilesSource,
    HeartbeatSource,
    RunLogSource,
    TableSource,
)
from monitor.serve import logs
from monitor.serve.reload import is_config_file
from monitor.serve.service import Listen, batch_key


def test_listen_addresses_parse_and_print_back() -> None:
    assert Listen.parse("127.0.0.1:9184") == Listen("127.0.0.1", 9184)
    assert Listen.parse(":80") == Listen("0.0.0.0", 80)
    assert Listen.parse("[::1]:9000") == Listen("::1", 9000)
    assert str(Listen("::1", 9000)) == "[::1]:9000"
    for bad in ("9184", "host:", "host:http", "host:70000"):
        with pytest.raises(UsageError, match="HOST:PORT"):
            Listen.parse(bad)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`logs.setup` replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def _logger(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logs.setup(fmt, stream=stream)
    return logging.getLogger("fresh.test"), stream


def test_text_logs_are_one_line_per_event_with_fields() -> None:
    log, stream = _logger("text")
    log.info("orders is stale", extra={"event": "status_changed", "contract": "a b"})
    log.warning("two\nlines", extra={"event": "x", "items": [1, 2]})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith('INFO orders is stale event=status_changed contract="a b"')
    assert "two\\nlines" in lines[1] and 'items="[1, 2]"' in lines[1]


def test_json_logs_are_one_object_per_line() -> None:
    log, stream = _logger("json")
    log.info("hello", extra={"event": "started", "contracts": 3})
    obj = json.loads(stream.getvalue())
    assert obj["message"] == "hello" and obj["event"] == "started" and obj["contracts"] == 3
    assert obj["level"] == "info" and obj["time"].endswith("Z")


def test_secrets_never_reach_the_log() -> None:
    log, stream = _logger("json")
    redact.SECRETS.set(["tok-123456", None, "ab"])
    try:
        log.error(
            "cannot connect to postgresql://reader:hunter2@db/x with tok-123456",
            extra={"event": "e", "url": "mailto://u:pw-secret@smtp.example.com"},
        )
    finally:
        redact.SECRETS.set([])
    text = stream.getvalue()
    for secret in ("hunter2", "tok-123456", "pw-secret"):
        assert secret not in text
    assert "reader:***@db" in text


def test_an_unknown_log_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        logs.setup("xml")


def test_only_yaml_files_of_the_project_trigger_a_reload(tmp_path: Path) -> None:
    config, checks = tmp_path / "fresh.yml", tmp_path / "checks"
    assert is_config_file(config, config, checks)
    assert is_config_file(checks / "sub" / "a.yaml", config, checks)
    assert not is_config_file(checks / "notes.txt", config, checks)
    assert not is_config_file(tmp_path / ".fresh" / "state.db", config, checks)
    assert not is_config_file(tmp_path / "other.yml", config, checks)


def _contract(source: object, warehouse: str = "main") -> Contract:
    return Contract(
        name="x",
        owner="o",
        warehouse=warehouse,
        source=source,  # type: ignore[arg-type]
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


def test_sql_reads_batch_per_warehouse_and_other_kinds_per_kind() -> None:
    assert batch_key(_contract(TableSource("t", "c"))) == "warehouse:main"
    assert batch_key(_contract(TableSource("t", "c"), "dw")) == "warehouse:dw"
    assert batch_key(_contract(RunLogSource("job", table="runs"))) == "warehouse:main"
    assert batch_key(_contract(RunLogSource("job", file="x.jsonl"))) == "run_log"
    assert batch_key(_contract(FilesSource("*.csv"))) == "files"
    assert batch_key(_contract(HeartbeatSource())) == "heartbeat"
