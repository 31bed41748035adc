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


class YMap(dict[str, Any]):
    """A mapping that remembers where it, its keys and its values were written."""

    __slots__ = ("_keys", "_vals", "pos")

    # Positions are kept as PyYAML marks (or Pos) and turned into Pos only when asked:
    # most are never read, and building 20,000 tuples costs more than composing.
    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self._keys: dict[str, Any] = {}
        self._vals: dict[str, Any] = {}

    def put(self, key: str, value: Any, key_pos: Any, val_pos: Any) -> None:
        """Set `key` with the positions (Pos or YAML marks) of the key and of its value."""
        self[key] = value
        self._keys[key] = key_pos
        self._vals[key] = val_pos

    def key_pos(self, key: str) -> Pos:
        """Where `key` was written (the mapping's own position when unknown)."""
        mark = self._keys.get(key)
        return self.pos if mark is None else mark if isinstance(mark, Pos) else at_mark(mark)

    def val_pos(self, key: str) -> Pos:
        """Where the value of `key` starts (the mapping's own position when unknown)."""
        mark = self._vals.get(key)
        return self.pos if mark is None else mark if isinstance(mark, Pos) else at_mark(mark)


class YList(list[Any]):
    """A sequence that remembers where it and each item were written."""

    __slots__ = ("_items", "pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self._items: list[Any] = []

    def add(self, value: Any, pos: Any) -> None:
        """Append `value` written at `pos` (a Pos or a YAML mark)."""
        self.append(value)
        self._items.append(pos)

    def item_pos(self, index: int) -> Pos:
        """Where item `index` was written (the list's own position when unknown)."""
        if 0 <= index < len(self._items):
            mark = self._items[index]
            return mark if isinstance(mark, Pos) else at_mark(mark)
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
