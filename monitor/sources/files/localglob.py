"""A fast local glob that returns each matched file's modification time.

`glob.glob` + `os.stat` lists every directory under the first wildcard and then stats each
match again. This walk starts at the glob's static prefix, goes through literal segments
without listing, reads each directory once with `os.scandir`, and stats only the files that
match. Semantics follow `glob.glob(recursive=True)`: `**` matches zero or more directories,
`*` and `?` never match a leading dot, and only regular files are returned.
"""

from __future__ import annotations

import os
import re
from fnmatch import translate
from pathlib import Path

from monitor.core.errors import SourceError

_MAGIC = re.compile(r"[*?\[]")


def has_magic(text: str) -> bool:
    """True when `text` holds a glob wildcard."""
    return _MAGIC.search(text) is not None


class _Walker:
    def __init__(self, parts: list[str]) -> None:
        self.parts = parts
        self.last = len(parts) - 1
        self.regex = [
            None if p == "**" or not has_magic(p) else re.compile(translate(p)) for p in parts
        ]
        self.found: list[tuple[str, int]] = []

    def _matches(self, name: str, i: int) -> bool:
        part = self.parts[i]
        regex = self.regex[i]
        if regex is None:
            return name == part
        if name.startswith(".") and not part.startswith("."):
            return False
        return regex.match(name) is not None

    def _scan(self, dirpath: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(dirpath) as it:
                return list(it)
        except (FileNotFoundError, NotADirectoryError):
            return []  # vanished between listing and reading: a loader moved it
        except OSError as exc:
            raise SourceError(f"cannot list {dirpath}: {exc.strerror or exc}") from None

    def _take(self, entry: os.DirEntry[str], i: int) -> None:
        """`entry` (inside a directory being walked) against segment i (or past the end)."""
        if i > self.last:  # a trailing `**` matches every file below, hidden ones excepted
            if entry.is_file() and not entry.name.startswith("."):
                self.found.append((entry.path, entry.stat().st_mtime_ns))
            return
        if not self._matches(entry.name, i):
            return
        if i == self.last:
            if entry.is_file():
                self.found.append((entry.path, entry.stat().st_mtime_ns))
        elif entry.is_dir():
            self.walk(entry.path, i + 1)

    def walk(self, dirpath: str, i: int) -> None:
        part = self.parts[i]
        if part == "**":
            for entry in self._scan(dirpath):
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    self.walk(entry.path, i)
                self._take(entry, i + 1)
        elif self.regex[i] is None:  # a literal segment: no listing needed
            path = os.path.join(dirpath, part)
            if i == self.last:
                try:
                    st = os.stat(path)
                except OSError:
                    return
                if os.path.isfile(path):
                    self.found.append((path, st.st_mtime_ns))
            elif os.path.isdir(path):
                self.walk(path, i + 1)
        else:
            for entry in self._scan(dirpath):
                self._take(entry, i)


def glob_mtimes(pattern: str, base_dir: Path) -> list[tuple[str, int]]:
    """Every regular file matching `pattern` (relative to `base_dir`), with mtime in ns.

    Raises SourceError when a directory on the way cannot be listed (permissions).
    """
    path = Path(os.path.expanduser(pattern))
    if not path.is_absolute():
        path = base_dir / path
    parts = list(path.parts)
    root = parts[0]
    rest: list[str] = []
    for p in parts[1:]:
        if p == "**" and rest and rest[-1] == "**":
            continue  # `a/**/**/b` is `a/**/b`
        rest.append(p)
    # Literal leading segments are the static prefix: start the walk there.
    while len(rest) > 1 and not has_magic(rest[0]):
        root = os.path.join(root, rest.pop(0))
    if not rest:
        return []
    walker = _Walker(rest)
    if os.path.isdir(root):
        walker.walk(root, 0)
    return walker.found
