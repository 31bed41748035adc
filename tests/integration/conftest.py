"""Fixtures shared by integration tests: a real local S3 endpoint (moto's server), fakesnow."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.alert_receivers import HttpReceiver
from tests.servers import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP endpoint on a free port for this module."""
    moto_server = pytest.importorskip(
        "moto.server", reason="SKIPPED LOUDLY: moto[s3] not installed"
    )
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _s3_client(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A boto3 client on `endpoint`; fresh finds the endpoint the way users point it at
    MinIO (AWS_ENDPOINT_URL), with test credentials."""
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # Never read the developer's own ~/.aws files.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    return boto3.client("s3")


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A boto3 client on the moto server running on a thread of the test process."""
    return _s3_client(s3_endpoint, monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def s3_process_endpoint() -> Iterator[str]:
    """moto's S3 server in its own process: delta-rs holds the GIL while it waits for an
    answer, so a server on a thread of the test process would never get to reply."""
    binary = Path(sys.executable).parent / "moto_server"
    if not binary.exists():
        pytest.skip("SKIPPED LOUDLY: moto[server] not installed")
    port = free_port()
    proc = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3_proc(s3_process_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Like `s3`, on the moto server running in its own process."""
    return _s3_client(s3_process_endpoint, monkeypatch, tmp_path)


@pytest.fixture(scope="session")
def fakesnow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """fakesnow's HTTP server (tests/integration/snowflake_rig.py), one per session."""
    from tests.integration.snowflake_rig import running_fakesnow

    with running_fakesnow(tmp_path_factory.mktemp("fakesnow")) as fs:
        yield fs


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A local HTTP server recording what the alert senders post (a test module with a
    receiver of its own defines its own `receiver` fixture, which wins)."""
    rx = HttpReceiver()
    yield rx
    rx.stop()
