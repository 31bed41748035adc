"""A local stand-in for BigQuery's REST API and Google's token endpoint, so the real
google-cloud-bigquery client (through sqlalchemy-bigquery) sends its requests here:
`BIGQUERY_EMULATOR_HOST` points the client at it, and a throwaway service-account key whose
`token_uri` is this server gets the client its access token (google.auth.default reads it
from `GOOGLE_APPLICATION_CREDENTIALS`).

It records the JSON body of every jobs.query (`POST …/queries`) and jobs.insert
(`POST …/jobs`) request and answers minimally: a column read (`max(`) gets one TIMESTAMP
row, anything else (a ping) one INTEGER row.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NEWEST_MICROS = "1782907200000000"  # 2026-07-01T12:00:00Z


@dataclass
class BigQueryStub:
    """The running server: its address and what it received."""

    url: str
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def jobs(self) -> list[dict[str, Any]]:
        """Bodies of the jobs.query and jobs.insert requests, in order."""
        return [b for p, b in self.requests if p.endswith(("/queries", "/jobs"))]


def _answer(sql: str, project: str) -> dict[str, Any]:
    read = "max(" in sql.lower()
    kind, value = ("TIMESTAMP", NEWEST_MICROS) if read else ("INTEGER", "1")
    return {
        "kind": "bigquery#queryResponse",
        "jobComplete": True,
        "jobReference": {"projectId": project, "jobId": "job_1", "location": "US"},
        "schema": {"fields": [{"name": "f0_", "type": kind, "mode": "NULLABLE"}]},
        "rows": [{"f": [{"v": value}]}],
        "totalRows": "1",
    }


def _handler(stub: BigQueryStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def _send(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            if path.endswith("/token"):
                self._send({"access_token": "stub", "expires_in": 3600, "token_type": "Bearer"})
                return
            body = json.loads(raw or b"{}")
            stub.requests.append((path, body))
            m = re.search(r"/projects/([^/]+)/", path)
            project = m.group(1) if m else "p"
            if path.endswith("/queries"):
                self._send(_answer(body.get("query", ""), project))
            elif path.endswith("/jobs"):
                query = body.get("configuration", {}).get("query", {}).get("query", "")
                job = {**body, "status": {"state": "DONE"}, "id": f"{project}:US.job_1"}
                job["jobReference"] = {"projectId": project, "jobId": "job_1", "location": "US"}
                job.setdefault("statistics", {})
                stub.last_query = query  # type: ignore[attr-defined]
                self._send(job)
            else:
                self.send_error(404)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            stub.requests.append((path, {}))
            m = re.search(r"/projects/([^/]+)/", path)
            project = m.group(1) if m else "p"
            if "/queries/" in path:  # getQueryResults after a jobs.insert
                self._send(_answer(getattr(stub, "last_query", ""), project))
            elif "/jobs/" in path:
                self._send(
                    {
                        "status": {"state": "DONE"},
                        "jobReference": {"projectId": project, "jobId": "job_1"},
                    }
                )
            else:
                self.send_error(404)

    return Handler


@contextmanager
def running_bigquery_stub() -> Iterator[BigQueryStub]:
    """The stub on a free port, served from a thread of the test process."""
    stub = BigQueryStub(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def service_account_key(path: Path, token_uri: str, project: str) -> Path:
    """A throwaway service-account key file (a fresh RSA key) whose token_uri is the stub."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project,
                "private_key_id": "stub",
                "private_key": pem,
                "client_email": f"fresh@{project}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path
