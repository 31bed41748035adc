"""`fresh run NAME -- CMD ARGS…`: cron with good logging.

Records a /start, runs CMD (standard input inherited, its output streamed through live while
the last 10 kB are kept), forwards SIGTERM/SIGINT/SIGHUP to it, then records success or
/fail with exit code, duration and output tail, and exits with CMD's code (128+N when a
signal N killed it, 127 when CMD was not found). Monitoring must never break the job: when
recording fails (store down, unknown contract, serve unreachable) fresh warns on standard
error, still runs CMD, and still exits with CMD's code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any

from monitor.config.loader import load_project
from monitor.core.clock import SystemClock
from monitor.core.errors import FreshError, UsageError
from monitor.sources.heartbeat import pings as heartbeat
from monitor.sources.heartbeat.pings import PingRequest, post_ping
from monitor.store import OUTPUT_LIMIT, PingKind, Store

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_wrapped(
    name: str, argv: list[str], url: str | None, config: Path | None, checks: Path | None
) -> int:
    """Run argv as the job `name`; return its exit code."""
    if not argv:
        raise UsageError("give the command to run after `--`: fresh run NAME -- CMD ARGS…")
    # Signals are caught from the very start: a SIGTERM that arrives while the /start is
    # recorded, or just as the child starts, must not kill fresh and orphan the job.
    with _SignalForwarder() as forwarder:
        recorder = Recorder.create(name, url, config, checks)
        run_id = uuid.uuid4().hex
        recorder.send("start", run_id=run_id)
        started = time.monotonic()
        code, output = run_child(argv, forwarder)
        duration = time.monotonic() - started
        kind: PingKind = "success" if code == 0 else "fail"
        recorder.send(kind, run_id=run_id, exit_code=code, duration=duration, output=bytes(output))
    return code


def warn(message: str) -> None:
    """A warning on standard error that never fails (stderr may be closed)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"fresh run: warning: {message}", file=sys.stderr, flush=True)


class Recorder:
    """Sends the pings of one run to the store or to `fresh serve`, or only warns."""

    def __init__(self, name: str, send: Callable[..., None] | None) -> None:
        self.name = name
        self._send = send

    @classmethod
    def create(
        cls, name: str, url: str | None, config: Path | None, checks: Path | None
    ) -> Recorder:
        """A recorder for `name`; a bad configuration or contract only disables recording."""
        if url:
            token = os.environ.get("FRESH_PING_TOKEN") or None

            def post(kind: PingKind, **kw: Any) -> None:
                kw.pop("run_id", None)  # the HTTP API has no run id
                post_ping(url, PingRequest(name, kind, **kw), token)

            return cls(name, post)
        try:
            project = load_project(config, checks)
            contracts = project.by_name()
            heartbeat.check_contract(contracts, name)
        except FreshError as exc:
            warn(f"{name!r} will not be recorded: {_one_line(exc)}")
            return cls(name, None)
        settings = project.settings

        def store_it(kind: PingKind, **kw: Any) -> None:
            with Store.from_settings(settings) as store:
                heartbeat.record(store, contracts, name, kind, SystemClock().now(), **kw)

        return cls(name, store_it)

    def send(self, kind: PingKind, **kw: Any) -> None:
        """Record one ping; any failure becomes a warning."""
        if self._send is None:
            return
        try:
            self._send(kind, **kw)
        except FreshError as exc:
            warn(f"could not record /{kind} for {self.name!r}: {_one_line(exc)}")
        except Exception as exc:  # a recording bug must not change the job's exit code
            warn(f"could not record /{kind} for {self.name!r}: {type(exc).__name__}: {exc}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def run_child(argv: list[str], forwarder: _SignalForwarder) -> tuple[int, bytearray]:
    """Run argv with its output streamed through; return (exit code, output tail)."""
    tail = _Tail()
    if forwarder.pending:  # told to stop before the job even started
        return 128 + forwarder.pending[0], tail.data
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        return _cannot_start(argv, 127, "command not found", tail)
    except PermissionError:
        return _cannot_start(argv, 126, "permission denied", tail)
    except OSError as exc:
        return _cannot_start(argv, 126, exc.strerror or str(exc), tail)
    forwarder.attach(proc)
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, tail), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, sys.stderr, tail), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    returncode = proc.wait()
    for pump in pumps:
        pump.join()
    code = returncode if returncode >= 0 else 128 - returncode
    return code, tail.data


def _cannot_start(argv: list[str], code: int, why: str, tail: _Tail) -> tuple[int, bytearray]:
    message = f"fresh run: {argv[0]}: {why}\n"
    try:
        sys.stderr.write(message)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    tail.add(message.encode())
    return code, tail.data


class _Tail:
    """The last OUTPUT_LIMIT bytes of stdout and stderr, interleaved as they arrived."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self._lock:
            self.data += chunk
            if len(self.data) > 2 * OUTPUT_LIMIT:
                del self.data[:-OUTPUT_LIMIT]


def _pump(source: IO[bytes], target: IO[str], tail: _Tail) -> None:
    """Copy the child's stream to ours as it comes (not line by line: progress bars and
    partial lines pass through), keeping the tail."""
    out = getattr(target, "buffer", None)
    fd = source.fileno()
    alive = True
    while chunk := os.read(fd, 65536):
        tail.add(chunk)
        if not alive:
            continue  # our side is closed: keep draining so the child never blocks
        try:
            if out is not None:
                out.write(chunk)
                out.flush()
            else:
                target.write(chunk.decode("utf-8", "replace"))
                target.flush()
        except (OSError, ValueError):
            alive = False
    source.close()


class _SignalForwarder:
    """Passes SIGTERM/SIGINT/SIGHUP on to the child while it runs; before it exists, keeps
    them in `pending` (the child is then never started)."""

    def __init__(self) -> None:
        self.pending: list[int] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._forward) for sig in FORWARDED}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def attach(self, proc: subprocess.Popen[bytes]) -> None:
        """From now on, signals go to `proc`."""
        self._proc = proc

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        if self._proc is None:
            self.pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signum)  # a no-op once the child has been reaped
