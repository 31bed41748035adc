"""`fresh run NAME -- CMD ARGS…`: cron with good logging.

Records a /start, runs CMD (standard input inherited, its output streamed through live while
the last 10 kB are kept), forwards SIGTERM/SIGINT/SIGHUP to it, then records success or
/fail with exit code, duration and output tail, and exits with CMD's code (128+N when a
signal N killed it, 127 when CMD was not found). It returns when CMD exits, even if CMD left
background processes holding its output. Monitoring must never break the job: when
recording fails (store down, unknown contract, serve unreachable) fresh warns on standard
error, still runs CMD, and still exits with CMD's code.
"""

from __future__ import annotations

import contextlib
import os
import selectors
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
# After the command exits, its output is read until the pipes are quiet for QUIET seconds,
# and for DRAIN_LIMIT seconds at most (a background process may keep writing).
QUIET = 0.1
DRAIN_LIMIT = 2.0


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
        code, output, duration = run_child(argv, forwarder)
        kind: PingKind = "success" if code == 0 else "fail"
        recorder.send(kind, run_id=run_id, exit_code=code, duration=duration, output=output)
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


def run_child(argv: list[str], forwarder: _SignalForwarder) -> tuple[int, bytes, float]:
    """Run argv with its output streamed through; return (exit code, output tail, seconds
    it ran).

    It returns when the command exits, even if processes it left in the background still
    hold its standard output or error: what is already written is read, then the pipes are
    let go of within DRAIN_LIMIT seconds."""
    tail = _Tail()
    if forwarder.pending:  # told to stop before the job even started
        return 128 + forwarder.pending[0], tail.snapshot(), 0.0
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        return (*_cannot_start(argv, 127, "command not found", tail), 0.0)
    except PermissionError:
        return (*_cannot_start(argv, 126, "permission denied", tail), 0.0)
    except OSError as exc:
        return (*_cannot_start(argv, 126, exc.strerror or str(exc), tail), 0.0)
    forwarder.attach(proc)
    assert proc.stdout is not None and proc.stderr is not None
    exited = _Deadline()
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, tail, exited), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, sys.stderr, tail, exited), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    returncode = proc.wait()
    duration = time.monotonic() - started
    exited.start(DRAIN_LIMIT)
    for pump in pumps:
        pump.join(DRAIN_LIMIT + 1.0)
    code = returncode if returncode >= 0 else 128 - returncode
    return code, tail.snapshot(), duration


def _cannot_start(argv: list[str], code: int, why: str, tail: _Tail) -> tuple[int, bytes]:
    message = f"fresh run: {argv[0]}: {why}\n"
    try:
        sys.stderr.write(message)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    tail.add(message.encode())
    return code, tail.snapshot()


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

    def snapshot(self) -> bytes:
        """The tail as it is now (a pump may still be adding)."""
        with self._lock:
            return bytes(self.data)


class _Deadline:
    """Set once the command has exited: from then on a pump stops when its pipe has been
    quiet for QUIET seconds, and at the latest at the deadline."""

    def __init__(self) -> None:
        self._at: float | None = None

    def start(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def started(self) -> bool:
        return self._at is not None

    def passed(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at


def _pump(source: IO[bytes], target: IO[str], tail: _Tail, exited: _Deadline) -> None:
    """Copy the child's stream to ours as it comes (not line by line: progress bars and
    partial lines pass through), keeping the tail.

    Ends at end of file, or once the command has exited and the pipe stays quiet (or the
    drain deadline passes): a background process the command left behind may hold the
    pipe open for hours, and `fresh run` must not wait for it."""
    out = getattr(target, "buffer", None)
    fd = source.fileno()
    alive = True
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            if exited.passed():
                break
            if not selector.select(QUIET):
                if exited.started():
                    break
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            alive = _forward(chunk, out, target, tail, alive)
    source.close()


def _forward(
    chunk: bytes, out: IO[bytes] | None, target: IO[str], tail: _Tail, alive: bool
) -> bool:
    """Keep `chunk` in the tail and write it to our stream; False once that stream is gone
    (the child's output is then still drained so it never blocks)."""
    tail.add(chunk)
    if not alive:
        return False
    try:
        if out is not None:
            out.write(chunk)
            out.flush()
        else:
            target.write(chunk.decode("utf-8", "replace"))
            target.flush()
    except (OSError, ValueError):
        return False
    return True


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
