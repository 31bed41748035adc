"""Real endpoints for what apprise sends: an HTTP receiver (json:// and Slack), a CONNECT
proxy that terminates TLS for hooks.slack.com with a throwaway CA, and an SMTP server.

Nothing leaves the machine: Slack's real `slack://` URL is used unchanged, and the sender
runs with `HTTPS_PROXY` pointing at `SlackProxy` and `REQUESTS_CA_BUNDLE` at its CA.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """How the receiver answers: the first `fail_first` requests get `fail_status`."""

    fail_first: int = 0
    fail_status: int = 500
    reply: bytes = b"ok"
    hold: float = 0.0  # seconds to wait before answering (a slow channel)
    on_request: Callable[[Received], None] | None = None


class HttpReceiver:
    """A local HTTP server that records every POST; can fail, hold, go down and come back."""

    def __init__(self) -> None:
        self.received: list[Received] = []  # accepted requests (answered 2xx)
        self.attempts: list[Received] = []  # every request, answered or not
        self.behaviour = Behaviour()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        """(Re)start listening, on the same port as before when there was one."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                got = Received(self.path, self.rfile.read(n), dict(self.headers.items()))
                b = owner.behaviour
                with owner._lock:
                    owner.attempts.append(got)
                    failing = len(owner.attempts) <= b.fail_first
                    if not failing:
                        owner.received.append(got)
                if b.on_request is not None:
                    b.on_request(got)
                if b.hold:
                    time.sleep(b.hold)
                try:
                    self.send_response(b.fail_status if failing else 200)
                    self.send_header("content-type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"nope" if failing else b.reply)
                except OSError:
                    pass  # the sender is gone (killed mid-send, or timed out)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Go down: connections are refused until `start()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.02)
        return list(self.received)


# --- TLS for hooks.slack.com -------------------------------------------------------------


def mint_tls(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for `host` signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("fresh test CA"))
        .issuer_name(name("fresh test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, cert_pem, key_pem = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_pem, cert_pem, key_pem


class SlackProxy:
    """An HTTPS proxy that answers `CONNECT hooks.slack.com:443` itself: it terminates TLS
    with a certificate from a throwaway CA and hands the request inside to `receiver`'s
    handler logic (recorded in `receiver.received`, answered `ok`). Other hosts are refused.
    """

    HOST = "hooks.slack.com"

    def __init__(self, directory: Path, receiver: HttpReceiver) -> None:
        self.ca, cert, key = mint_tls(directory, self.HOST)
        self.receiver = receiver
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.connects: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def env(self) -> dict[str, str]:
        """What the sending process needs in its environment."""
        return {
            "HTTPS_PROXY": f"http://127.0.0.1:{self.port}",
            "https_proxy": f"http://127.0.0.1:{self.port}",
            "REQUESTS_CA_BUNDLE": str(self.ca),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def close(self) -> None:
        self._stopped = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            target = head.split(b"\r\n", 1)[0].decode()
            self.connects.append(target)
            if not target.startswith(f"CONNECT {self.HOST}:443 "):
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self.tls.wrap_socket(conn, server_side=True) as tls:
                _serve_one(tls, self.receiver)


def _serve_one(tls: ssl.SSLSocket, receiver: HttpReceiver) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        chunk = tls.recv(65536)
        if not chunk:
            break
        body += chunk
    got = Received(lines[0].split(" ")[1], body, headers)
    b = receiver.behaviour
    with receiver._lock:
        receiver.attempts.append(got)
        failing = len(receiver.attempts) <= b.fail_first
        if not failing:
            receiver.received.append(got)
    reply = b"nope" if failing else b.reply
    status = f"{b.fail_status} Error" if failing else "200 OK"
    tls.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(reply)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + reply
    )


# --- SMTP ------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server accepted."""

    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def wait_for(self, n: int, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < n:
            time.sleep(0.02)
        return list(self.messages)


@contextmanager
def smtp_server(
    user: str = "alerts", password: str = "s3cret-pass"
) -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server (aiosmtpd) that requires AUTH, allowed without TLS (local only)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(
                message_from_bytes(envelope.original_content or envelope.content, policy=default)
            )
            return "250 OK"

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        if ok:
            box.logins.append(user)
        return AuthResult(success=ok)

    port = _free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
