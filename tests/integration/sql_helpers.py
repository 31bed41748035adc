"""Hand-built contracts and settings for the SQL source tests (no config loading)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.settings import Settings, Warehouse
from monitor.core.models import (
    ColumnFormat,
    Contract,
    Expectation,
    QuerySource,
    Reading,
    TableSource,
)
from monitor.sources import read_contracts

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def table(
    name: str,
    table: str,
    column: str,
    *,
    where: str | None = None,
    column_format: ColumnFormat | None = None,
    warehouse: str = "main",
) -> Contract:
    """A table+column contract."""
    return Contract(
        name=name,
        owner="ops",
        warehouse=warehouse,
        source=TableSource(table=table, column=column, where=where, column_format=column_format),
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


def query(name: str, sql: str, *, warehouse: str = "main") -> Contract:
    """A query contract, built directly so config validation is bypassed."""
    return Contract(
        name=name,
        owner="ops",
        warehouse=warehouse,
        source=QuerySource(sql=sql),
        expectation=Expectation(error_after=timedelta(hours=1)),
    )


def settings(base_dir: Path, **warehouses: Warehouse) -> Settings:
    """Settings with these warehouses, relative paths read from `base_dir`."""
    return Settings(base_dir=base_dir, warehouses=warehouses)


def read(contracts: list[Contract], s: Settings) -> dict[str, Reading]:
    """read_contracts at NOW."""
    return read_contracts(contracts, s, NOW)


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
