"""What the HTTP side and the reload watcher see of the running service.

`serve.service.Service` is the one implementation. Naming what they use as a Protocol lets
http/ and reload.py sit below service.py, which starts them, instead of importing it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio
    from datetime import datetime
    from pathlib import Path

    from monitor.config.project import Project
    from monitor.core.clock import Clock
    from monitor.core.models import Contract
    from monitor.serve.metrics import ServiceMetrics
    from monitor.serve.scheduler import Scheduler
    from monitor.store import Store


class Runtime(Protocol):
    """The running `fresh serve`, as its routes, pages and file watcher use it."""

    project: Project  # swapped whole on a reload
    store: Store
    clock: Clock
    metrics: ServiceMetrics
    scheduler: Scheduler
    config_loaded: bool  # False while the configuration on disk is invalid (/readyz)
    checks_arg: Path | None
    cwd: Path
    stopping: asyncio.Event

    def contract(self, name: str) -> Contract | None:
        """The contract named `name` in the current project, or None."""
        ...

    def maintenance_until(self) -> dict[str, datetime]:
        """Contract name → end of its maintenance window, for those in one now."""
        ...

    async def reload(self, reason: str) -> bool:
        """Load the configuration again; keep the current one when the new one is invalid."""
        ...
