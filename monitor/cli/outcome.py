"""What a command prints when it fails, the code it exits with, and the quick exit; without
typer, so `fresh check` can run without importing it (monitor.cli.quick).

`echo` writes text as click's `echo` (typer's) does: a newline after it, ANSI escape
sequences removed when the stream is not a terminal, flushed. tests/unit/test_cli_outcome.py
compares the two.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable

from monitor.core.errors import ConfigError, ExitCode, FreshError
from monitor.core.textsafe import terminal_safe

# click's own pattern (click._compat._ansi_re)
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")


def echo(message: str, err: bool = False) -> None:
    """`message` and a newline on stdout (stderr with `err`), as click.echo writes text."""
    stream = sys.stderr if err else sys.stdout
    text = message + "\n"
    if not isatty(stream):
        text = _ANSI.sub("", text)
    stream.write(text)
    stream.flush()


def isatty(stream: object) -> bool:
    """Whether `stream` is a terminal (False for anything that cannot say)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def silence(*streams: object) -> None:
    """Point `streams` at /dev/null: their reader went away (`fresh check | head`), which
    is not our failure, and Python must not complain again when it flushes at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in streams:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]


def exit_code(fn: Callable[[], int], say: Callable[..., None] = echo) -> int:
    """Run a command body; its exit code, FreshError turned into its message and code."""
    try:
        return fn()
    except ConfigError as exc:
        for p in exc.problems:
            say(str(p), err=True)
        n = sum(1 for p in exc.problems if not p.warning)
        say(f"{n} error{'s' if n != 1 else ''} found.", err=True)
        return int(ExitCode.INVALID)
    except FreshError as exc:
        say(terminal_safe(f"error: {exc}"), err=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130


def exit_now(code: int) -> None:
    """End a one-shot command's process without the interpreter's teardown.

    Freeing every module and object one by one costs `fresh check` on 1,000 contracts
    about 25 ms of its ~350 (more with 10,000), for memory the OS takes back anyway. What
    an ordinary exit does that anyone could notice still happens: the streams are flushed
    and the `atexit` handlers run (logging, coverage, …). Only when no other thread that
    Python would wait for is alive; if flushing fails, the ordinary exit reports it.
    """
    import atexit
    import threading

    main_thread = threading.main_thread()
    if any(not t.daemon for t in threading.enumerate() if t is not main_thread):
        return  # Python's exit would wait for it: let it
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or 1  # pragma: no cover - a handler broke the streams
    os._exit(code)


def settle_closes() -> None:
    """Before an ordinary exit, let the DuckDB files `fresh check` left closing on daemon
    threads finish closing (the interpreter's teardown must not run beside them)."""
    handles = sys.modules.get("monitor.sources.sql.duckdb_handles")
    if handles is not None:
        handles.settle()
