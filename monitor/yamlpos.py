"""YAML with positions: PyYAML's C composer, turned into plain values that remember where
each key and value was written, with `${VAR}` / `${VAR:-default}` expansion on the way.

Why not `yaml.load`: it forgets positions, and every problem we report must say
`path:line:col`. Why not ruamel: 20 times slower on a 1,000-contract file (see bench notes).

`YMap` is a dict and `YList` a list, so validation code and pydantic read them as usual;
`.pos`, `.key_pos(k)`, `.val_pos(k)` and `.item_pos(i)` give 1-based positions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C loader when libyaml is present


class _Loader(_Base):  # type: ignore[misc]
    """The C safe loader with a memo in front of the (pure Python) tag resolver.

    Keys and values such as `name`, `table`, `20m` repeat thousands of times in a large
    checks folder; resolving each once makes composing about a third faster.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._memo: dict[tuple[Any, ...], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is not ScalarNode:
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]
        key = (value, implicit)
        tag = self._memo.get(key)
        if tag is None:
            tag = self._memo[key] = super().resolve(kind, value, implicit)
        return tag

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_SCALARS = SafeConstructor()  # only its stateless scalar constructors are used

# ${VAR} or ${VAR:-default}; `$${` writes a literal `${`.
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Pos(NamedTuple):
    """A 1-based line and column."""

    line: int
    col: int


def _pos(node: Node) -> Pos:
    mark = node.start_mark
    return Pos(mark.line + 1, mark.column + 1)


def _at(mark: Any) -> Pos:
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
        return self.pos if mark is None else mark if isinstance(mark, Pos) else _at(mark)

    def val_pos(self, key: str) -> Pos:
        """Where the value of `key` starts (the mapping's own position when unknown)."""
        mark = self._vals.get(key)
        return self.pos if mark is None else mark if isinstance(mark, Pos) else _at(mark)


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
            return mark if isinstance(mark, Pos) else _at(mark)
        return self.pos


class YamlProblem(NamedTuple):
    """A problem found while reading YAML, before any validation."""

    pos: Pos
    message: str


_EMPTY = object()  # a value that expanded to "" : the key counts as not set


class _Builder:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[YamlProblem] = []

    def value(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, MappingNode):
            return self.mapping(node)
        if isinstance(node, SequenceNode):
            out = YList(_pos(node))
            for item in node.value:
                v = self.value(item)
                if v is not _EMPTY:
                    out.add(v, item.start_mark)
            return out
        return None  # pragma: no cover - compose yields only the three kinds

    def scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _STR:
            if "$" in text:
                text = self.expand(text, _pos(node))
                return _EMPTY if text == "" else text
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _SCALARS.construct_yaml_bool(node)
        if tag == _INT:
            return _SCALARS.construct_yaml_int(node)
        if tag == _FLOAT:
            return _SCALARS.construct_yaml_float(node)
        # Timestamps, binary and custom tags stay text: values end up in JSON and labels.
        return text

    def mapping(self, node: MappingNode) -> YMap:
        out = YMap(_pos(node))
        merged: list[YMap] = []
        for key_node, val_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self.merge_sources(val_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(YamlProblem(_pos(key_node), "a key must be plain text"))
                continue
            key = key_node.value
            if key in out:
                first = out.key_pos(key)
                self.problems.append(
                    YamlProblem(
                        _pos(key_node), f"duplicate key {key!r} (first at line {first.line})"
                    )
                )
                continue
            value = self.value(val_node)
            if value is _EMPTY:
                continue  # "${VAR:-}" with nothing set: as if the key were absent
            out.put(key, value, key_node.start_mark, val_node.start_mark)
        for source in merged:  # `<<: *anchor` fills only the keys not written here
            for key in source:
                if key not in out:
                    out.put(key, source[key], source.key_pos(key), source.val_pos(key))
        return out

    def merge_sources(self, node: Node) -> list[YMap]:
        nodes = node.value if isinstance(node, SequenceNode) else [node]
        out = []
        for n in nodes:
            v = self.value(n)
            if isinstance(v, YMap):
                out.append(v)
            else:
                self.problems.append(YamlProblem(_pos(n), "'<<' merges only mappings"))
        return out

    def expand(self, text: str, pos: Pos) -> str:
        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$${":
                return "${"
            name, default = m.group(1), m.group(2)
            value = self.env.get(name)
            if default is not None:
                return value if value else default  # shell `:-`: unset or empty
            if value is None:
                self.problems.append(
                    YamlProblem(
                        pos,
                        f"environment variable {name} is not set (use ${{{name}:-}}"
                        " to make it optional)",
                    )
                )
                return ""
            return value

        return _VAR.sub(sub, text)


def load(text: str, env: Mapping[str, str]) -> tuple[Any, list[YamlProblem]]:
    """Parse one YAML document into YMap/YList/scalars with positions.

    Returns (value, problems). Malformed YAML gives (None, [its problem]); an empty
    document gives an empty YMap.
    """
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        what = exc.problem or exc.context or "malformed"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        return None, [YamlProblem(pos, f"invalid YAML: {what}{context}")]
    except yaml.YAMLError as exc:  # e.g. a byte that is not text
        return None, [YamlProblem(Pos(1, 1), f"invalid YAML: {exc}")]
    if root is None:
        return YMap(Pos(1, 1)), []
    builder = _Builder(env)
    value = builder.value(root)
    return (None if value is _EMPTY else value), builder.problems
