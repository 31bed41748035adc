"""Reload the configuration when fresh.yml or a file under checks/ changes (watchfiles).

fresh.yml's folder is watched without recursion (editors replace a file by renaming a new
one over it, which a watch on the file itself would lose) and checks/ recursively; only
YAML files count, so the state store or a DuckDB file beside fresh.yml never trigger a
reload. SIGHUP reloads too (see `Service.run`); both go through `Service.reload`, which
keeps the last good configuration when the new one is invalid.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.serve.runtime import Runtime

log = logging.getLogger("fresh.reload")

DEBOUNCE_MS = 400


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


def is_config_file(path: Path, config: Path | None, checks: Path) -> bool:
    """True for fresh.yml itself and YAML files under checks/."""
    if config is not None and path == config:
        return True
    return path.suffix in (".yml", ".yaml") and checks in path.parents


async def _changes(
    paths: list[Path], recursive: bool, stop: asyncio.Event
) -> AsyncIterator[set[Path]]:
    from watchfiles import awatch

    async for batch in awatch(
        *paths, recursive=recursive, stop_event=stop, debounce=DEBOUNCE_MS, step=50
    ):
        yield {Path(p).absolute() for _, p in batch}


async def watch_files(service: Runtime) -> None:
    """Call `service.reload` whenever a configuration file changes, until shutdown."""
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
    try:
        while True:
            changed = await queue.get()
            hits = sorted(str(p) for p in changed if is_config_file(p, config, checks))
            if hits:
                log.info(
                    "configuration files changed", extra={"event": "files_changed", "files": hits}
                )
                await service.reload("file change")
    finally:
        for p in pumps:
            p.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
