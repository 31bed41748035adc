"""YAML with positions: PyYAML's C composer, turned into plain values that remember where
each key and value was written, with `${VAR}` / `${VAR:-default}` expansion on the way.

Events come straight from the C parser (faster than `yaml.compose` and a walk over its
nodes). Why not `yaml.load`: it forgets positions, and every problem we report must say
`path:line:col`. Why not ruamel: 20 times slower on a 1,000-contract file (see bench notes).

Aliases are never copied (an alias is the anchored object itself); `yamllimits` counts
what the expanded document would hold and refuses alias bombs and deep nesting.

`YMap` is a dict and `YList` a list, so validation code and pydantic read them as usual;
`.pos`, `.key_pos(k)`, `.val_pos(k)` and `.item_pos(i)` give 1-based positions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from monitor.config.yamllimits import MAX_DEPTH, Expansion, Refused, too_deep
from monitor.config.yamlnodes import KEY_STRIDE, LINE_STRIDE, at_mark

# The values this parser builds live in yamlnodes; they are re-exported here, the one name
# the rest of the config layer imports YAML from.
from monitor.config.yamlnodes import Pos as Pos
from monitor.config.yamlnodes import YamlProblem as YamlProblem
from monitor.config.yamlnodes import YList as YList
from monitor.config.yamlnodes import YMap as YMap
from monitor.config.yamlnodes import walk as walk

assert (LINE_STRIDE, KEY_STRIDE) == (1 << 32, 1 << 64)  # the shifts in _Builder._attach
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C when libyaml is there
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_SCALARS = SafeConstructor()  # only its stateless scalar constructors are used

# ${VAR} or ${VAR:-default}; `$${` writes a literal `${`.
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


_EMPTY = object()  # a value that expanded to "" : the key counts as not set
_NO_KEY = object()  # a mapping waiting for its next key
_SKIP = object()  # the value of a key that was refused (complex or duplicate)
_MERGE_KEY = object()  # the value of `<<`


class _Frame:
    """A mapping or sequence being built, with the key waiting for its value."""

    __slots__ = ("anchor", "depth", "key", "key_mark", "merges", "nodes", "obj", "size", "start")

    def __init__(
        self, obj: YMap | YList, anchor: str | None, start: Any, nodes: int, size: int
    ) -> None:
        self.obj = obj
        self.start = start  # the mark where this container starts
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.merges: list[YMap] = []
        # The expanded counts when this container started (its own size is the difference
        # at its end), and the deepest expanded nesting below it so far.
        self.nodes = nodes
        self.size = size
        self.depth = 0


class _Builder:
    """Builds values straight from the C parser's events.

    Faster than `yaml.compose` + a walk over its nodes (no Node objects, one tag
    resolution per distinct scalar), and it keeps the marks PyYAML would have put on them.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[YamlProblem] = []
        self.anchors: dict[str, Any] = {}
        self.expansion = Expansion(0)
        self.tags: dict[tuple[str, Any], str] = {}  # (text, implicit) → resolved tag
        # Each distinct text once: 100,000 contracts then hold one "name" key and one "1d"
        # value, not 100,000 of each (a smaller tree, fewer blocks left pinned when freed).
        self.strings: dict[str, str] = {}
        self.resolver = Resolver()

    def build(self, text: str) -> Any:
        self.expansion = Expansion(len(text))
        loader = _Loader(text)
        try:
            return self._run(loader)
        finally:
            loader.dispose()

    def _run(self, loader: Any) -> Any:
        stack: list[_Frame] = []
        root: Any = None
        documents = 0
        read = read_size = 0  # nodes (scalars and containers) and characters read
        expansion = self.expansion
        get = loader.get_event
        while True:
            ev = get()
            if ev is None:
                expansion.finish(read)
                return root
            kind = type(ev)
            if kind is ScalarEvent:
                read += 1
                read_size += len(ev.value)  # as written: `${VAR}` values are not the author's
                if ev.anchor is not None:
                    expansion.sizes[ev.anchor] = (1, len(ev.value), 0)
                frame = stack[-1] if stack else None
                if frame is not None and frame.key is _NO_KEY and type(frame.obj) is YMap:
                    self._key(frame, ev)
                    continue
                self._attach(stack, self._scalar(ev), ev.start_mark, ev.anchor)
                if not stack:
                    root = self._last
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise too_deep(ev.start_mark)
                pos = Pos(ev.start_mark.line + 1, ev.start_mark.column + 1)
                obj: YMap | YList = YMap(pos) if kind is MappingStartEvent else YList(pos)
                frame = _Frame(
                    obj,
                    ev.anchor,
                    ev.start_mark,
                    expansion.nodes + read,
                    expansion.size + read_size,
                )
                read += 1
                if ev.anchor is not None:
                    self.anchors[ev.anchor] = obj
                    expansion.open.add(ev.anchor)
                stack.append(frame)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                done = stack.pop()
                depth = done.depth + 1
                if stack and stack[-1].depth < depth:
                    stack[-1].depth = depth
                if done.anchor is not None:
                    expansion.open.discard(done.anchor)
                    expansion.sizes[done.anchor] = (
                        expansion.nodes + read - done.nodes,
                        expansion.size + read_size - done.size,
                        depth,
                    )
                if type(done.obj) is YMap:
                    for source in done.merges:  # `<<: *anchor` fills keys not written here
                        for key in source:
                            if key not in done.obj:
                                done.obj.put(
                                    key, source[key], source.key_pos(key), source.val_pos(key)
                                )
                self._attach(stack, done.obj, done.start, None)
                if not stack:
                    root = done.obj
            elif kind is AliasEvent:
                if ev.anchor not in self.anchors:
                    raise yaml.MarkedYAMLError(
                        None, None, f"found undefined alias {ev.anchor!r}", ev.start_mark
                    )
                frame = stack[-1] if stack else None
                if frame is not None and frame.key is _NO_KEY and type(frame.obj) is YMap:
                    self._bad_key(frame, ev.start_mark)
                    continue
                depth = expansion.alias(ev.anchor, ev.start_mark, len(stack), read, read_size)
                if stack and stack[-1].depth < depth:
                    stack[-1].depth = depth
                self._attach(stack, self.anchors[ev.anchor], ev.start_mark, None)
                if not stack:
                    root = self._last
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise yaml.MarkedYAMLError(
                        None, None, "expected a single document in the stream", ev.start_mark
                    )

    _last: Any = None

    def _attach(self, stack: list[_Frame], value: Any, mark: Any, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = value
        self._last = value
        if not stack:
            return
        frame = stack[-1]
        obj = frame.obj
        if type(obj) is YList:
            if value is not _EMPTY:
                obj.add(value, mark.line << 32 | mark.column)  # packed: see LINE_STRIDE
            return
        key = frame.key
        if key is _NO_KEY:  # a mapping or list used as a key
            self._bad_key(frame, mark)
            return
        frame.key = _NO_KEY
        if key is _SKIP or value is _EMPTY:
            return  # "${VAR:-}" with nothing set: as if the key were absent
        if key is _MERGE_KEY:
            for v in value if type(value) is YList else [value]:
                if type(v) is YMap:
                    frame.merges.append(v)
                else:
                    self.problems.append(YamlProblem(at_mark(mark), "'<<' merges only mappings"))
            return
        # Both positions packed (LINE_STRIDE, KEY_STRIDE) with shifts of literals: no global
        # lookups in the hottest line of the parser.
        km = frame.key_mark
        at = (km.line << 32 | km.column) << 64 | mark.line << 32 | mark.column
        obj.put_packed(key, value, at)  # type: ignore[union-attr]

    def _bad_key(self, frame: _Frame, mark: Any) -> None:
        self.problems.append(YamlProblem(at_mark(mark), "a key must be plain text"))
        frame.key = _SKIP

    def _key(self, frame: _Frame, ev: Any) -> None:
        text = ev.value
        if ev.tag is None and ev.implicit[0] and text == "<<":
            frame.key = _MERGE_KEY
            return
        obj = frame.obj
        if text in obj:
            first = obj.key_pos(text)  # type: ignore[union-attr]
            self.problems.append(
                YamlProblem(
                    at_mark(ev.start_mark), f"duplicate key {text!r} (first at line {first.line})"
                )
            )
            frame.key = _SKIP
            return
        frame.key = self.strings.setdefault(text, text)
        frame.key_mark = ev.start_mark

    def _scalar(self, ev: Any) -> Any:
        text = ev.value
        tag = ev.tag
        if tag is None or tag == "!":
            memo = (text, ev.implicit)
            tag = self.tags.get(memo)
            if tag is None:
                tag = self.tags[memo] = self.resolver.resolve(ScalarNode, text, ev.implicit)  # type: ignore[no-untyped-call]
        if tag == _STR:
            if "$" in text:
                text = self.expand(text, at_mark(ev.start_mark))
                return _EMPTY if text == "" else text
            return self.strings.setdefault(text, text)
        if tag == _NULL:
            return None
        node = ScalarNode(tag, text)
        if tag == _BOOL:
            return _SCALARS.construct_yaml_bool(node)
        if tag == _INT:
            return _SCALARS.construct_yaml_int(node)
        if tag == _FLOAT:
            return _SCALARS.construct_yaml_float(node)
        # Timestamps, binary and custom tags stay text: values end up in JSON and labels.
        return text

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
    builder = _Builder(env)
    try:
        value = builder.build(text)
    except Refused as exc:
        return None, [YamlProblem(at_mark(exc.mark), exc.message)]
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: say where it is
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return None, [
            YamlProblem(
                _index_pos(text, exc.position), f"invalid YAML: {exc.reason} (#x{char:04x})"
            )
        ]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        what = exc.problem or exc.context or "malformed"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        return None, [YamlProblem(pos, f"invalid YAML: {what}{context}")]
    except yaml.YAMLError as exc:  # e.g. a byte that is not text
        return None, [YamlProblem(Pos(1, 1), f"invalid YAML: {exc}")]
    if value is None:
        return YMap(Pos(1, 1)), builder.problems
    return (None if value is _EMPTY else value), builder.problems


def _index_pos(text: str, index: int) -> Pos:
    """The line and column of character `index` of `text`."""
    line_start = text.rfind("\n", 0, index) + 1
    return Pos(text.count("\n", 0, index) + 1, index - line_start + 1)
