"""Small helpers the files, run_log and metadata sources share."""

from __future__ import annotations

from monitor.sources.base import ReadContext


def warehouse_timezone(ctx: ReadContext, warehouse: str) -> str:
    """How naive timestamps are read for contracts of `warehouse` (UTC when undeclared)."""
    wh = ctx.settings.warehouses.get(warehouse)
    return wh.timezone if wh is not None else "UTC"
