"""DuckDB connections that reach the warehouse and nothing else of the host (SPEC 16).

From plain SQL, DuckDB reads any file or URL (`read_text`, `read_csv`, `glob`, `COPY`,
`ATTACH`, `'http://…'` paths) and installs and loads extensions by itself when a query needs
one. So every connection fresh opens runs with:

- external access off: no file, directory or URL but the database it was opened on;
- extensions never installed nor autoloaded (nothing is downloaded, nothing is written to
  `~/.duckdb/extensions`, no extension from disk is loaded);
- the configuration locked, so no statement can turn any of this back on. Only `TimeZone`
  stays settable: the readers set the warehouse's zone per cursor, and a zone reaches nothing.

The `files` source must read files, so its in-memory connection is told exactly which files
its glob matched (`allowed_paths`) before external access goes off; the only text of the
user's it runs is the column name, validated and quoted.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

# Extension switches alone: settable when the database starts, harmless for any connection.
NO_EXTENSIONS: Final[Mapping[str, Any]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}

# Everything a warehouse connection gets when it is opened (names as in duckdb 2.0).
LOCKED: Final[Mapping[str, Any]] = {
    **NO_EXTENSIONS,
    "enable_external_access": False,
    "lock_configuration": True,
    "allowed_configs": ["TimeZone"],
}


def locked_config(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`extra` settings (a URL's), overridden by the locked ones wherever they meet."""
    return {**(extra or {}), **LOCKED}


def engine() -> ModuleType:
    """DuckDB's compiled module (`_duckdb`), without the Python package around it.

    `import duckdb` runs the package's relation API, expression builder and version lookup
    (importlib.metadata) on top of the compiled module: about 70 ms of a 250 ms `fresh
    check` for nothing a warehouse read uses. `connect`, cursors, `execute`, `fetchall`,
    `description`, `interrupt` and the exception classes are the compiled module's own
    (`duckdb.connect is _duckdb.connect`, `duckdb.Error is _duckdb.Error`). A duckdb whose
    compiled module is named differently (1.x) is used through its package.
    """
    try:
        module = importlib.import_module("_duckdb")
    except ImportError:  # pragma: no cover - duckdb 1.x
        return importlib.import_module("duckdb")
    if not (hasattr(module, "connect") and hasattr(module, "Error")):  # pragma: no cover
        return importlib.import_module("duckdb")
    return module


def connect_warehouse(path: str) -> DuckDBPyConnection:
    """`path` opened read-only with the locked configuration (duckdb.Error if it cannot).

    Through `engine()`: a one-shot `fresh check` never imports the duckdb package.
    """
    con: DuckDBPyConnection = engine().connect(path, read_only=True, config=locked_config())
    return con


def connect_files(
    paths: Iterable[str], fs: Any = None, timezone: str = "UTC"
) -> DuckDBPyConnection:
    """An in-memory connection that can read `paths` (and `fs`'s, if given) and nothing else,
    its session in `timezone` (an IANA name, validated by config)."""
    import duckdb

    con = duckdb.connect(":memory:", config=dict(NO_EXTENSIONS))
    try:
        if fs is not None:
            con.register_filesystem(fs)
        # DuckDB accepts allowed_paths only once it runs, and only while access is on.
        con.execute("SET allowed_paths = ?", [sorted(set(paths))])
        con.execute("SET enable_external_access = false")
        con.execute(f"SET TimeZone = '{timezone.replace(chr(39), '')}'")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con
