"""What the sources of this package need from the dispatcher's read context."""

from __future__ import annotations

from typing import Protocol

from monitor.settings import Settings


class SourceContext(Protocol):
    """The part of the dispatcher's ReadContext that files, run_log and metadata read."""

    @property
    def settings(self) -> Settings:
        """The loaded fresh.yml (warehouses, base_dir)."""
        ...


def warehouse_timezone(ctx: SourceContext, warehouse: str) -> str:
    """How naive timestamps are read for contracts of `warehouse` (UTC when undeclared)."""
    wh = ctx.settings.warehouses.get(warehouse)
    return wh.timezone if wh is not None else "UTC"
