"""Hand-built contracts and read contexts for testing source modules directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.settings import Settings, Warehouse
from monitor.core.models import Contract, Expectation, Source
from monitor.sources.base import ReadContext


def ctx_for(base_dir: Path, warehouse: str = "main", **warehouses: Warehouse) -> ReadContext:
    """A read context whose relative paths are read from `base_dir`."""
    if warehouses:
        settings = Settings(base_dir=base_dir, warehouses=warehouses)
    else:
        settings = Settings(base_dir=base_dir)
    return ReadContext(settings=settings, now=datetime.now(UTC), warehouse=warehouse)


def contract(source: Source, name: str = "c", warehouse: str = "main") -> Contract:
    """A contract around `source` with a 1h error_after."""
    return Contract(
        name=name,
        owner="ops",
        warehouse=warehouse,
        source=source,
        expectation=Expectation(error_after=timedelta(hours=1)),
    )
