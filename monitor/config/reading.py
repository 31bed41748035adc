"""Reading configuration files: text, or a problem at the place that stops it.

A byte that is not UTF-8 is reported at its own line and column (not 1:1), and a symlink
that is broken or loops is a problem naming the file instead of a file silently skipped
(in `checks/`) or a configuration silently replaced by the defaults (`fresh.yml`).
"""

from __future__ import annotations

import errno
from pathlib import Path

from monitor.core.errors import Problem


def read_text(path: Path, display: str, problems: list[Problem]) -> str | None:
    """The file's text, or None with a problem (unreadable, or not UTF-8 at line:col)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(display, 1, 1, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Point at the byte itself: line and column counted in characters before it.
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(
            Problem(
                display, line, col, f"not UTF-8 text: byte 0x{data[exc.start]:02x} ({exc.reason})"
            )
        )
        return None


def bad_link(path: Path, display: str, problems: list[Problem]) -> bool:
    """Report a `.yml` symlink that leads nowhere; False always, so the file is left out of
    the contracts while the problem makes the configuration invalid."""
    problem = link_problem(path, display)
    if problem is not None:
        problems.append(problem)
    return False


def link_problem(path: Path, display: str) -> Problem | None:
    """The problem with `path` when it is a symlink that is broken or loops, else None."""
    if not path.is_symlink():
        return None
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11-3.12 raise this for a loop, later OSError(ELOOP)
        return Problem(display, 1, 1, "symlink loop: it points to no file")
    except OSError as exc:
        why = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
        return Problem(display, 1, 1, f"{why}: it points to no file")
    return None
