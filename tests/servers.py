"""Real servers for the tests: started in a mktemp dir on a free port, stopped afterwards.

PostgreSQL and MariaDB refuse to run as root, so only the temp dir we create is chowned to
their user (never /tmp itself)."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as(user: str, cmd: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if os.geteuid() == 0 else cmd


def _give(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user, user)


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot run here, or None."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql)"
    return None


class PgServer:
    """A throwaway PostgreSQL 15 that can be stopped and started again on the same port and
    data directory (benches take the state store or a warehouse down with it)."""

    def __init__(self, base: Path, data: Path, port: int, options: str) -> None:
        self.base, self.data, self.port, self.options = base, data, port, options
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as("postgres", [str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        """Shut the server down (`fast`: clients are disconnected, as an operator would)."""
        self._ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        """Start it (again) on the same port, with the same options."""
        self._ctl("-o", self.options, "-w", "-l", str(self.base / "log"), "start")


@contextmanager
def postgres_server(extra_options: str = "") -> Iterator[PgServer]:
    """Run a throwaway PostgreSQL 15; yields its handle (`.url` is database `postgres`).

    `extra_options` are more `-c name=value` server options (benches load
    pg_stat_statements this way)."""
    base = Path(tempfile.mkdtemp(prefix="fresh-pg-"))
    _give(base, "postgres")
    data, port = base / "data", free_port()
    subprocess.run(
        _as("postgres", [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off {extra_options}"
    server = PgServer(base, data, port, opts)
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            _as("postgres", [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def postgres(extra_options: str = "") -> Iterator[str]:
    """Run a throwaway PostgreSQL 15; yields a `postgresql+psycopg://` URL to db `postgres`."""
    with postgres_server(extra_options) as server:
        yield server.url


def mariadb_missing() -> str | None:
    """Why MariaDB cannot run here, or None."""
    if not shutil.which("mariadbd") and not Path("/usr/sbin/mariadbd").exists():
        return "mariadbd not found (apt-get install mariadb-server)"
    return None


@contextmanager
def mariadb() -> Iterator[str]:
    """Run a throwaway MariaDB; yields a `mysql+pymysql://root@…/test` URL."""
    base = Path(tempfile.mkdtemp(prefix="fresh-maria-"))
    _give(base, "mysql")
    data, port, sock = base / "data", free_port(), base / "sock"
    subprocess.run(
        [
            "mariadb-install-db",
            "--user=mysql",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            "/usr/sbin/mariadbd",
            "--user=mysql",
            f"--datadir={data}",
            f"--port={port}",
            f"--socket={sock}",
            "--bind-address=127.0.0.1",
            "--skip-grant-tables=0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"mysql+pymysql://root@127.0.0.1:{port}/mysql"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def prometheus_missing() -> str | None:
    """Why Prometheus cannot run here, or None."""
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        return "prometheus/promtool not found (apt-get install prometheus)"
    return None


@contextmanager
def prometheus(
    targets: list[str], scrape_interval: str = "1s", params: dict[str, list[str]] | None = None
) -> Iterator[str]:
    """Run a throwaway Prometheus scraping `targets` (host:port); yields its base URL.

    `params` are the scrape job's URL parameters (`{"scope": ["held"]}`)."""
    import json

    base = Path(tempfile.mkdtemp(prefix="fresh-prom-"))
    port = free_port()
    (base / "prometheus.yml").write_text(
        "global:\n"
        f"  scrape_interval: {scrape_interval}\n"
        f"  evaluation_interval: {scrape_interval}\n"
        "scrape_configs:\n"
        "  - job_name: fresh\n"
        + (f"    params: {json.dumps(params)}\n" if params else "")
        + "    static_configs:\n"
        f"      - targets: {targets!r}\n"
    )
    with (base / "log").open("wb") as log:  # the child keeps its own copy of the handle
        proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={base / 'prometheus.yml'}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((base / "log").read_text()) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)


def create_database(server_url: str, prefix: str = "fresh_test") -> str:
    """Create a new, empty database on the PostgreSQL at `server_url`; returns its URL."""
    import uuid

    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


AM_BINARIES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_missing() -> str | None:
    """Why Alertmanager cannot run here, or None."""
    if not any(shutil.which(b) for b in AM_BINARIES):
        return "alertmanager not found (apt-get install prometheus-alertmanager)"
    return None


class Alertmanager:
    """A throwaway Alertmanager (API v2) on a free port; `stop()` / `start()` take it down
    and bring it back on the same port with the same storage (silences, notification log).
    """

    def __init__(
        self, config: str, web_config: str | None = None, ca_file: Path | None = None
    ) -> None:
        """`ca_file`: the web config serves https (`tls_server_config`) with a certificate
        for `localhost` signed by this CA; the fixture's own calls trust it."""
        self.base = Path(tempfile.mkdtemp(prefix="fresh-am-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._context: ssl.SSLContext | None = None
        if ca_file is not None:
            self.url = f"https://localhost:{self.port}"
            self._context = ssl.create_default_context(cafile=str(ca_file))
        (self.base / "alertmanager.yml").write_text(config)
        self._web: list[str] = []
        if web_config is not None:  # e.g. basic_auth_users: every endpoint then needs them
            (self.base / "web.yml").write_text(web_config)
            self._web = [f"--web.config.file={self.base / 'web.yml'}"]
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        binary = next(b for b in AM_BINARIES if shutil.which(b))
        with (self.base / "log").open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.base / 'alertmanager.yml'}",
                    f"--storage.path={self.base / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",  # no gossip: one lone instance
                    *self._web,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                ready = self.url + "/-/ready"
                with urllib.request.urlopen(ready, timeout=1, context=self._context) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # up, and asking for the credentials it was given
                    return
            except OSError:
                if self._proc.poll() is not None:
                    raise RuntimeError((self.base / "log").read_text()) from None
            time.sleep(0.1)
        raise RuntimeError("alertmanager did not become ready:\n" + self.log())

    def log(self) -> str:
        return (self.base / "log").read_text(errors="replace")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None

    def api(self, path: str, body: object | None = None, method: str = "GET") -> object:
        """Call the API v2 (`/api/v2/...`) and return its JSON."""
        import json

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"content-type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=10, context=self._context) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
