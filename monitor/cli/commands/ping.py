"""`fresh ping NAME [--start|--fail [--exit-code N]]`: record a heartbeat.

Into the state store of fresh.yml, or with `--url` / FRESH_URL by POSTing to a running
`fresh serve` (token from FRESH_PING_TOKEN) for job hosts that cannot reach the store.
Standard input, when piped, is kept as the job's output tail (its last 10 kB).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from monitor.config.loader import load_project
from monitor.core.clock import SystemClock
from monitor.core.errors import UsageError
from monitor.sources.heartbeat import pings as heartbeat
from monitor.sources.heartbeat.pings import PingRequest, check_numbers, post_ping
from monitor.store import OUTPUT_LIMIT, PingKind, Store


def ping_command(
    name: str,
    start: bool,
    fail: bool,
    exit_code: int | None,
    url: str | None,
    config: Path | None,
    checks: Path | None,
) -> int:
    """Record one ping; exit 0, 2 for a bad contract or usage, 1 when a POST failed."""
    kind = ping_kind(start, fail, exit_code)
    check_numbers(exit_code, None)
    output = read_piped_stdin()
    if url:
        req = PingRequest(name, kind, exit_code=exit_code, output=output)
        post_ping(url, req, os.environ.get("FRESH_PING_TOKEN") or None)
        return 0

    project = load_project(config, checks)
    contracts = project.by_name()
    heartbeat.check_contract(contracts, name)  # before touching the store
    with Store.from_settings(project.settings) as store:
        heartbeat.record(
            store, contracts, name, kind, SystemClock().now(), exit_code=exit_code, output=output
        )
    return 0


def ping_kind(start: bool, fail: bool, exit_code: int | None) -> PingKind:
    """--start, --fail, or success; `--exit-code N` alone means fail unless N is 0, so
    `fresh ping job --exit-code $?` reports either."""
    if start and fail:
        raise UsageError("--start and --fail cannot be combined")
    if start:
        if exit_code is not None:
            raise UsageError("--exit-code goes with --fail (or alone), not with --start")
        return "start"
    if fail or (exit_code is not None and exit_code != 0):
        return "fail"
    return "success"


def read_piped_stdin(stream: BinaryIO | None = None) -> bytes | None:
    """The last 10 kB of standard input when it is a pipe or a file, else None.

    A terminal is never read (a ping typed by hand must not wait for Ctrl-D), nor is
    /dev/null or any other device (cron's standard input).
    """
    if stream is None:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            return None
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError):
        # No real descriptor (an in-memory stream in tests): read it if it is not a TTY.
        if stream.isatty():
            return None
        return read_tail(stream)
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)):
        return None
    return read_tail(stream)


def read_tail(stream: BinaryIO, limit: int = OUTPUT_LIMIT) -> bytes | None:
    """Read `stream` to its end keeping only the last `limit` bytes in memory."""
    buf = bytearray()
    while chunk := stream.read(65536):
        buf += chunk
        if len(buf) > 2 * limit:
            del buf[:-limit]
    return bytes(buf[-limit:]) if buf else None
