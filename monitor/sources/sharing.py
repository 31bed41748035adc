"""One read for contracts whose reads are the same (SPEC 14, cost).

Several owners often watch one table with different limits: `orders` late after 1 h for the
shop team and after 6 h for finance. Their reads are identical when the warehouse, relation,
column, `column_format` and `where` are (or the `query` text is), so a round reads it once
and hands the one Reading to each contract under its own name; each contract is still judged
on its own limits and gets its own `timeout` error from the dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from monitor.core.models import Contract, QuerySource, Reading, TableSource


def share_key(contract: Contract) -> tuple[object, ...] | None:
    """What makes two contracts' reads the same; None for sources that are never shared."""
    src = contract.source
    if isinstance(src, TableSource):
        return (contract.warehouse, "table", src.table, src.column, src.column_format, src.where)
    if isinstance(src, QuerySource):
        return (contract.warehouse, "query", " ".join(src.sql.split()))
    return None


@dataclass(frozen=True)
class Shared:
    """The contracts to read (one per distinct read) and who else gets each reading."""

    readers: list[Contract]
    sharers: dict[str, list[str]]  # reader's name → every contract name its reading serves

    def fan_out(self, readings: Sequence[Reading]) -> list[Reading]:
        """Each reading once per contract that shares it, under that contract's name."""
        out: list[Reading] = []
        for reading in readings:
            names = self.sharers.get(reading.contract, [reading.contract])
            out.extend(
                reading if n == reading.contract else replace(reading, contract=n) for n in names
            )
        return out

    def wrap(
        self, report: Callable[[Sequence[Reading]], None] | None
    ) -> Callable[[Sequence[Reading]], None] | None:
        """A progress callback that fans readings out before passing them on."""
        if report is None:
            return None
        return lambda readings: report(self.fan_out(readings))


def dedupe(contracts: Sequence[Contract]) -> Shared:
    """The first contract of each distinct read reads for all contracts sharing it."""
    first: dict[tuple[object, ...], Contract] = {}
    readers: list[Contract] = []
    sharers: dict[str, list[str]] = {}
    for contract in contracts:
        key = share_key(contract)
        reader = first.get(key) if key is not None else None
        if reader is None:
            if key is not None:
                first[key] = contract
            readers.append(contract)
            sharers[contract.name] = [contract.name]
        else:
            sharers[reader.name].append(contract.name)
    return Shared(readers, sharers)
