"""Hand-built contracts and a read context for testing source modules directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from monitor.models import Contract, Expectation, Source
from monitor.settings import Settings, Warehouse


@dataclass(frozen=True)
class Ctx:
    """The part of the dispatcher's ReadContext the sources read."""

    settings: Settings = field(default_factory=Settings)


def ctx_for(base_dir: Path, **warehouses: Warehouse) -> Ctx:
    """A context whose relative paths are read from `base_dir`."""
    if warehouses:
        return Ctx(Settings(base_dir=base_dir, warehouses=warehouses))
    return Ctx(Settings(base_dir=base_dir))


def contract(source: Source, name: str = "c", warehouse: str = "main") -> Contract:
    """A contract around `source` with a 1h error_after."""
    return Contract(
        name=name,
        owner="ops",
        warehouse=warehouse,
        source=source,
        expectation=Expectation(error_after=timedelta(hours=1)),
    )
