"""A loaded project: settings from fresh.yml plus every contract from checks/."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from monitor.config.selection import select
from monitor.config.settings import Settings
from monitor.core.errors import Problem
from monitor.core.models import Contract


@dataclass(frozen=True)
class Project:
    """What `config.load_project` returns; immutable, so a reload swaps it whole."""

    settings: Settings
    contracts: tuple[Contract, ...]
    warnings: tuple[Problem, ...] = ()
    imported_files: tuple[Path, ...] = ()  # read by `imports:`: what a reload watches too

    def by_name(self) -> dict[str, Contract]:
        """Contracts keyed by name."""
        return {c.name: c for c in self.contracts}

    def select(self, selectors: Iterable[str]) -> tuple[Contract, ...]:
        """Contracts matching any selector (name glob, owner:X, tag:X, warehouse:X)."""
        return select(self.contracts, selectors)
