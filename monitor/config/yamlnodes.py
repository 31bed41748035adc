"""The values YAML with positions is read into (yamlpos.py builds them): `YMap` is a dict
and `YList` a list, so validation code and pydantic read them as usual, and each remembers
where it, its keys, values and items were written (1-based `Pos`); `walk` follows a
validation error's location back to a position.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Pos(NamedTuple):
    """A 1-based line and column."""

    line: int
    col: int


def at_mark(mark: Any) -> Pos:
    """The 1-based position of a PyYAML mark."""
    return Pos(mark.line + 1, mark.column + 1)


# A position as the parser stores it: one int, line * LINE_STRIDE + column (0-based, as in
# a PyYAML mark). A kept mark is an 80-byte object per key and per value (most of a parsed
# contract's memory, and what pinned the allocator's arenas once the tree was freed); an
# int is 32-48 bytes, and a Pos tuple costs more time to build than the composing it saves.
LINE_STRIDE = 1 << 32
# A key's and its value's packed positions as one int (key * KEY_STRIDE + value): one dict
# of positions per mapping instead of two, one int per key instead of two.
KEY_STRIDE = 1 << 64  # above any packed position of a file with fewer than 2**32 lines


def unpack(where: Any) -> Pos:
    """A stored position (a packed int, a Pos or a PyYAML mark) as a 1-based Pos."""
    if type(where) is int:
        line, col = divmod(where, LINE_STRIDE)
        return Pos(line + 1, col + 1)
    return where if isinstance(where, Pos) else at_mark(where)


class YMap(dict[str, Any]):
    """A mapping that remembers where it, its keys and its values were written."""

    __slots__ = ("_at", "pos")

    # Positions are kept packed (see `LINE_STRIDE`, `KEY_STRIDE`; a Pos or a mark also works) and
    # turned into Pos only when asked: most are never read.
    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self._at: dict[str, Any] = {}  # key → key * KEY_STRIDE + value, or (key, value)

    def put(self, key: str, value: Any, key_pos: Any, val_pos: Any) -> None:
        """Set `key` with the positions (packed, Pos or YAML marks) of the key and its value."""
        self[key] = value
        if type(key_pos) is int and type(val_pos) is int and 0 <= val_pos < KEY_STRIDE:
            self._at[key] = key_pos * KEY_STRIDE + val_pos
        else:
            self._at[key] = (key_pos, val_pos)

    def put_packed(self, key: str, value: Any, at: int) -> None:
        """Set `key` with both positions packed: key * KEY_STRIDE + value (the parser's way)."""
        self[key] = value
        self._at[key] = at

    def key_pos(self, key: str) -> Pos:
        """Where `key` was written (the mapping's own position when unknown)."""
        at = self._at.get(key)
        if at is None:
            return self.pos
        return unpack(at[0] if type(at) is tuple else at // KEY_STRIDE)

    def val_pos(self, key: str) -> Pos:
        """Where the value of `key` starts (the mapping's own position when unknown)."""
        at = self._at.get(key)
        if at is None:
            return self.pos
        return unpack(at[1] if type(at) is tuple else at % KEY_STRIDE)


class YList(list[Any]):
    """A sequence that remembers where it and each item were written."""

    __slots__ = ("_items", "pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self._items: list[Any] = []

    def add(self, value: Any, pos: Any) -> None:
        """Append `value` written at `pos` (packed, a Pos or a YAML mark)."""
        self.append(value)
        self._items.append(pos)

    def item_pos(self, index: int) -> Pos:
        """Where item `index` was written (the list's own position when unknown)."""
        if 0 <= index < len(self._items):
            return unpack(self._items[index])
        return self.pos


class YamlProblem(NamedTuple):
    """A problem found while reading YAML, before any validation."""

    pos: Pos
    message: str


def walk(data: Any, loc: tuple[Any, ...]) -> tuple[Any, Pos, Any]:
    """Follow `loc` into the YAML: (parent container, position reached, value reached)."""
    node, parent, pos = data, data, data.pos
    for part in loc:
        if isinstance(node, YMap) and isinstance(part, str) and part in node:
            parent, pos, node = node, node.val_pos(part), node[part]
        elif isinstance(node, YList) and isinstance(part, int) and 0 <= part < len(node):
            parent, pos, node = node, node.item_pos(part), node[part]
        else:
            break
    return parent, pos, node
