"""`fresh demo` as a newcomer runs it: builds the demo, shows it, serves it until SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.integration.serving import wait_for
from tests.servers import free_port


def test_fresh_demo_shows_the_contracts_and_serves_them(tmp_path: Path) -> None:
    port = free_port()
    out_path = tmp_path / "out.log"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "demo",
                "--dir",
                str(tmp_path / "demo"),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def results() -> list[dict[str, object]]:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/contracts"
                with urllib.request.urlopen(url, timeout=5) as resp:
                    body = json.loads(resp.read())
            except OSError:
                assert proc.poll() is None, out_path.read_text()
                return []
            return list(body["results"]) if len(body["results"]) >= 10 else []

        rows = wait_for(results, timeout=60, step=0.2)
        statuses = {str(r["status"]) for r in rows}
        assert {"fresh", "warn", "stale"} <= statuses
        text = out_path.read_text()
        firsts = {line.split()[0] for line in text.splitlines() if line.strip()}
        assert {"fresh", "warn", "stale"} <= firsts  # the table printed before serving
        assert f"http://127.0.0.1:{port}/" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, out_path.read_text()
