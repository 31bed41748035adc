"""Reload the configuration when fresh.yml, a file under checks/ or an imported file
(a dbt manifest or project .yml, a data contract: SPEC 11) changes (watchfiles).

fresh.yml's folder is watched without recursion (editors replace a file by renaming a new
one over it, which a watch on the file itself would lose) and checks/ recursively; only
YAML files count, so the state store or a DuckDB file beside fresh.yml never trigger a
reload. SIGHUP reloads too (see `Service.run`); both go through `Service.reload`, which
keeps the last good configuration when the new one is invalid. A file being rewritten (dbt
writes manifest.json in place, so a reload can catch it half-written) is retried for a few
seconds (`load_settled`) before the reload counts as failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.errors import ConfigError

if TYPE_CHECKING:
    from monitor.config.project import Project
    from monitor.serve.runtime import Runtime

log = logging.getLogger("fresh.reload")

DEBOUNCE_MS = 400
SETTLE_SECONDS = 5.0  # how long a half-written imported file is waited for
_SETTLE_STEP = 0.25


def load_settled(
    load: Callable[[], Project],
    settle: float = SETTLE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Project:
    """`load()`, retried while an imported JSON file does not parse yet (being rewritten),
    for up to `settle` seconds; then its ConfigError stands."""
    deadline = time.monotonic() + settle
    while True:
        try:
            return load()
        except ConfigError as exc:
            if not _mid_write(exc) or time.monotonic() >= deadline:
                raise
            log.info("an imported file does not parse yet: retrying", extra={"event": "settling"})
            sleep(_SETTLE_STEP)


def _mid_write(exc: ConfigError) -> bool:
    """A JSON file cut short (`not valid JSON`): what a manifest mid-write looks like."""
    return any(p.path.endswith(".json") and "not valid JSON" in p.message for p in exc.problems)


def watched(service: Runtime) -> tuple[Path | None, Path]:
    """The fresh.yml in use (None without one) and the checks folder."""
    settings = service.project.settings
    config = settings.config_path
    if config is not None:
        config = Path(config).absolute()
    checks = service.checks_arg
    if checks is None:
        checks = Path(settings.base_dir) / "checks"
    elif not checks.is_absolute():
        checks = service.cwd / checks
    return config, checks.absolute()


def is_config_file(
    path: Path, config: Path | None, checks: Path, imported: frozenset[Path] = frozenset()
) -> bool:
    """True for fresh.yml itself, YAML files under checks/ and imported files (a dbt
    project's or data contracts' folder counts whole: a new sources .yml there too)."""
    if config is not None and path == config:
        return True
    if path in imported:
        return True
    if path.suffix in (".yml", ".yaml") and any(p.parent == path.parent for p in imported):
        return True
    return path.suffix in (".yml", ".yaml") and checks in path.parents


def imported_files(service: Runtime) -> frozenset[Path]:
    """Every file the current configuration's `imports:` read."""
    return frozenset(Path(p).absolute() for p in service.project.imported_files)


async def _changes(
    paths: list[Path], recursive: bool, stop: asyncio.Event
) -> AsyncIterator[set[Path]]:
    from watchfiles import awatch

    async for batch in awatch(
        *paths, recursive=recursive, stop_event=stop, debounce=DEBOUNCE_MS, step=50
    ):
        yield {Path(p).absolute() for _, p in batch}


async def watch_files(service: Runtime) -> None:
    """Call `service.reload` whenever a configuration file changes, until shutdown.

    Imported files may change with the configuration: their folders are watched anew after
    each reload.
    """
    config, checks = watched(service)
    queue: asyncio.Queue[set[Path]] = asyncio.Queue()

    async def pump(paths: list[Path], recursive: bool) -> None:
        async for changed in _changes(paths, recursive, service.stopping):
            await queue.put(changed)

    pumps = []
    top = config.parent if config is not None else service.cwd
    pumps.append(asyncio.create_task(pump([top], False)))
    if checks.is_dir() and checks != top:
        pumps.append(asyncio.create_task(pump([checks], True)))
    imported = imported_files(service)
    extra: dict[Path, asyncio.Task[None]] = {}

    def follow_imports() -> None:
        folders = {p.parent for p in imported if p.parent.is_dir()} - {top}
        folders = {f for f in folders if checks not in (f, *f.parents)}
        for gone in set(extra) - folders:
            extra.pop(gone).cancel()
        for folder in folders - set(extra):
            extra[folder] = asyncio.create_task(pump([folder], False))

    follow_imports()
    try:
        while True:
            changed = await queue.get()
            hits = sorted(str(p) for p in changed if is_config_file(p, config, checks, imported))
            if hits:
                log.info(
                    "configuration files changed", extra={"event": "files_changed", "files": hits}
                )
                await service.reload("file change")
                imported = imported_files(service)
                follow_imports()
    finally:
        for p in [*pumps, *extra.values()]:
            p.cancel()
        await asyncio.gather(*pumps, *extra.values(), return_exceptions=True)
