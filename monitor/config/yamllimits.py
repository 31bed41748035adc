"""What a YAML document would hold once its aliases are expanded, and the caps on it.

An alias is never copied (it is the anchored object itself), but whoever walks the result
(pydantic, JSON output, `metadata`) sees it expanded: a few hundred bytes of aliases of
aliases ("billion laughs") become gigabytes there. So the builder in `yamlpos` tells an
`Expansion` about every anchor and alias, which counts the expanded document in integers
and refuses it before anyone expands it (SPEC 16): at most `EXPANSION` times the
document's own nodes and characters, at most `MAX_NODES` nodes, nesting at most
`MAX_DEPTH` levels (through aliases too), and no alias inside its own anchor. A `<<:`
merge counts its whole source.
"""

from __future__ import annotations

from typing import Any

#: The expanded document is at most EXPANSION times its own nodes and characters, ...
EXPANSION = 50
#: ... and at most MAX_NODES nodes whatever its size (100,000 contracts sharing
#: `<<: *defaults` stay well under it);
MAX_NODES = 5_000_000
#: deeper nesting is refused (pydantic, json and our own walks recurse).
MAX_DEPTH = 100


class Refused(Exception):
    """The document is refused whole; `mark` is the YAML mark of where it went too far."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def too_deep(mark: Any, through: str | None = None) -> Refused:
    """The refusal of nesting deeper than `MAX_DEPTH` (through alias `*through`)."""
    via = f" (through *{through})" if through else ""
    return Refused(mark, f"nesting deeper than {MAX_DEPTH} levels{via}")


class Expansion:
    """Counts of the expanded document while it is read.

    The nodes and characters read so far (`read`, `read_size`) stay in the builder's
    locals, its hot path; this object counts only what aliases add, and the size of each
    anchored value: anchor -> (nodes, characters, depth).
    """

    def __init__(self, text_length: int) -> None:
        self.max_size = EXPANSION * max(text_length, 1)
        self.sizes: dict[str, tuple[int, int, int]] = {}
        self.open: set[str] = set()  # anchors whose container is not closed yet
        self.aliases = 0
        self.nodes = 0  # nodes added by aliases
        self.size = 0  # characters added by aliases
        self.biggest: tuple[int, Any] = (0, None)  # the alias adding most nodes, and where

    def alias(self, name: str, mark: Any, depth_here: int, read: int, read_size: int) -> int:
        """Count alias `*name` written `depth_here` levels deep; its value's depth."""
        if name in self.open:
            raise Refused(mark, f"alias *{name} is inside its own anchor (a recursive structure)")
        nodes, size, depth = self.sizes[name]
        self.aliases += 1
        self.nodes += nodes
        self.size += size
        if nodes > self.biggest[0]:
            self.biggest = (nodes, mark)
        if depth_here + depth > MAX_DEPTH:
            raise too_deep(mark, name)
        if self.nodes + read > MAX_NODES:
            raise Refused(
                mark,
                f"aliases expand this document to more than {MAX_NODES:,} nodes: refused"
                " (an alias bomb?)",
            )
        if self.size + read_size > self.max_size:
            raise Refused(
                mark,
                f"aliases expand this document to more than {EXPANSION} times its own"
                f" {self.max_size // EXPANSION:,} characters: refused (an alias bomb?)",
            )
        return depth

    def finish(self, read: int) -> None:
        """At the end of the document: refuse it past `EXPANSION` times its own nodes."""
        own = read + self.aliases
        expanded = read + self.nodes
        if expanded > EXPANSION * own:
            raise Refused(
                self.biggest[1],
                f"aliases expand this document to {expanded:,} nodes, more than {EXPANSION}"
                f" times its own {own:,}: refused (an alias bomb?)",
            )
