"""Several `fresh serve` replicas on one real PostgreSQL, for test_replicas_serve.py and
bench/failover_bench.py: a project of N DuckDB contracts plus heartbeat contracts, a TCP
proxy that can cut one replica off the database, and readers of the shared state."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from monitor.serve.rendezvous import rightful_holder
from tests.servers import free_port


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; `cut()` closes the listener and every
    connection (the replica behind it loses the database), `restore()` listens again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown, not only close: close() leaves a thread blocked in accept() (and
            # the port accepting) on Linux
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.cut()


@dataclass
class Replica:
    """One `fresh serve` subprocess."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 10) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            data: bytes = resp.read()
            return data

    def metrics(self) -> str:
        return self.get("/metrics").decode()

    def reads(self) -> float:
        """Source reads this replica made: its `fresh_check_duration_seconds_count`."""
        return sum_samples(self.metrics(), "fresh_check_duration_seconds_count", self.name)

    def sent(self) -> float:
        """Deliveries this replica made: its `fresh_notifications_total`."""
        return sum_samples(self.metrics(), "fresh_notifications_total", self.name)

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"replica {self.name} exited {self.proc.returncode}:\n"
                + self.log_path.read_text(errors="replace")[-4000:]
            )
        try:
            return self.get("/healthz", timeout=2) is not None
        except OSError:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


def sum_samples(text: str, metric: str, replica: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == metric and s.labels.get("replica") == replica:
                total += s.value
    return total


def wait_for(predicate: object, timeout: float, step: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()  # type: ignore[operator]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(step)


def pick_name(prefix: str, *holders: tuple[str, list[str]]) -> str:
    """A contract name whose rightful holder among each `live` list is the `holder` given
    with it (rendezvous is deterministic: the test knows in advance who checks what)."""
    for i in range(10000):
        name = f"{prefix}_{i}"
        if all(rightful_holder(name, sorted(live)) == h for h, live in holders):
            return name
    raise AssertionError("no name found")


@dataclass
class Rig:
    """A project directory, its DuckDB warehouse, the state database and the replicas."""

    directory: Path
    state_url: str
    receiver_url: str
    tables: int
    check_every: str = "4s"
    lease_ttl: str = "3s"
    heartbeats: dict[str, str] = field(default_factory=dict)  # name → error_after
    replicas: dict[str, Replica] = field(default_factory=dict)
    # what fresh.yml's `main` points to; `write()` builds the DuckDB file this default names
    # (bench/scale.py builds a PostgreSQL warehouse itself, then calls `write_config()`)
    warehouse_url: str = "duckdb:///warehouse.duckdb"

    def write(self) -> None:
        """The warehouse (one one-row table per contract), fresh.yml and checks/all.yml."""
        import duckdb

        con = duckdb.connect(str(self.directory / "warehouse.duckdb"))
        now = datetime.now(UTC).replace(tzinfo=None)
        try:
            con.execute("BEGIN")
            for i in range(self.tables):
                con.execute(f"CREATE OR REPLACE TABLE table_{i} (t TIMESTAMP)")
                con.execute(f"INSERT INTO table_{i} VALUES (?)", [now])
            con.execute("COMMIT")
        finally:
            con.close()
        self.write_config()

    def write_config(self) -> None:
        """fresh.yml and checks/all.yml alone (enough for `load_project`)."""
        (self.directory / "fresh.yml").write_text(
            f"""
warehouses:
  main:
    url: {self.warehouse_url}
state:
  url: ${{FRESH_STATE_URL}}
  lease_ttl: {self.lease_ttl}
owners:
  ops:
    notify: ["{self.receiver_url}"]
alerts:
  notify_on: [stale, error]
  send_resolved: false
  group_wait: 1s
  repeat_every: 1h
server:
  replica: ${{FRESH_REPLICA}}
"""
        )
        lines = ["defaults: {warehouse: main, owner: ops}", "contracts:"]
        for i in range(self.tables):
            lines.append(
                f"  - {{name: t.table_{i}, table: table_{i}, column: t, warn_after: 1d, "
                f"error_after: 2d, check_every: {self.check_every}}}"
            )
        for name, error_after in self.heartbeats.items():
            lines.append(
                f"  - {{name: {name}, heartbeat: {{}}, error_after: {error_after}, "
                f"check_every: {self.check_every}}}"
            )
        (self.directory / "checks").mkdir(exist_ok=True)
        (self.directory / "checks" / "all.yml").write_text("\n".join(lines) + "\n")

    def launch(self, name: str, state_url: str | None = None, port: int = 0) -> Replica:
        """Start replica `name` (again), on `port` when given (a scraper's fixed target)."""
        port = port or free_port()
        log_path = self.directory / f"replica-{name}-{port}.log"
        env = {
            **os.environ,
            "FRESH_STATE_URL": state_url or self.state_url,
            "FRESH_REPLICA": name,
        }
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "monitor.cli",
                    "serve",
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--log-format",
                    "json",
                ],
                cwd=self.directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        replica = Replica(name, port, proc, log_path)
        self.replicas[name] = replica
        return replica

    def wait_up(self, timeout: float = 60) -> None:
        for r in self.replicas.values():
            wait_for(r.up, timeout)

    def stop_all(self) -> None:
        for r in self.replicas.values():
            if r.proc.poll() is None:
                r.proc.send_signal(signal.SIGTERM)
        for r in self.replicas.values():
            try:
                r.proc.wait(30)
            except subprocess.TimeoutExpired:
                r.proc.kill()
                r.proc.wait(10)

    # --- the shared state, read directly ---

    @contextlib.contextmanager
    def db(self) -> Iterator[sa.Connection]:
        engine = sa.create_engine(self.state_url)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def holders(self) -> dict[str, str]:
        """Contract → replica holding a live lease on it."""
        with self.db() as conn:
            rows = conn.execute(
                sa.text("SELECT contract, holder FROM leases WHERE expires_at > now()")
            )
            return {r.contract: r.holder for r in rows}

    def checked_at(self) -> dict[str, datetime]:
        with self.db() as conn:
            rows = conn.execute(sa.text("SELECT name, checked_at FROM contract_state"))
            return {r.name: r.checked_at for r in rows}

    def ping(self, name: str) -> None:
        with self.db() as conn:
            conn.execute(
                sa.text("INSERT INTO pings (name, kind, at) VALUES (:n, 'success', now())"),
                {"n": name},
            )
            conn.commit()


class Pinger:
    """Keeps heartbeat contracts fresh (a job pinging every `every` s) until told to stop."""

    def __init__(self, rig: Rig, names: list[str], every: float = 0.5) -> None:
        self.rig = rig
        self.names = set(names)
        self.every = every
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        engine = sa.create_engine(rig.state_url, pool_size=1)
        self._engine = engine
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                names = sorted(self.names)
            if names:
                with self._engine.begin() as conn:
                    for n in names:
                        conn.execute(
                            sa.text(
                                "INSERT INTO pings (name, kind, at) VALUES (:n, 'success', now())"
                            ),
                            {"n": n},
                        )
            self._stop.wait(self.every)

    def drop(self, name: str) -> None:
        """Stop pinging `name` (the job stops reporting)."""
        with self._lock:
            self.names.discard(name)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._engine.dispose()
