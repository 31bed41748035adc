"""What every importer (dbt, data contracts) hands to the imports loader: contract drafts.

A `Draft` is one contract in the words of a `checks/` file (`table`, `column`, `where`,
`query`, `files`, `warn_after`, `error_after`, `owner`, `tags`, `metadata`…), plus where it
came from. The same drafts become `imports:` contracts (validated by the checks parser, so
an imported contract obeys every rule a hand-written one does) and the YAML that
`fresh import` writes, which is why that file gives the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.config.yamlpos import Pos
from monitor.core.errors import Problem

# Where a file has no useful line (a manifest is one long line of JSON): origin line null.
NO_POS = Pos(0, 0)


@dataclass(frozen=True)
class Draft:
    """One contract found by an importer, before validation.

    `name` is the contract's name; `long_name` the one used when another package or import
    gives the same name (dbt: `PACKAGE.SOURCE.TABLE`). `node` is the dbt unique_id or the
    data contract's id and element. `pos` is NO_POS when the file has no useful line.
    """

    name: str
    fields: dict[str, Any]
    path: str
    pos: Pos
    node: str
    long_name: str | None = None
    key_pos: dict[str, Pos] = field(default_factory=dict)

    def problem(self, message: str, key: str | None = None, warning: bool = False) -> Problem:
        """A problem at this draft (or at one of its keys), naming the node."""
        pos = self.key_pos.get(key, self.pos) if key else self.pos
        return Problem(
            self.path, max(pos.line, 1), max(pos.col, 1), f"{self.node}: {message}", warning
        )


def duration_text(seconds: int) -> str:
    """A whole number of seconds as fresh writes durations: `2d`, `36h`, `90m`, `45s`."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
