"""One serializer for fresh's frozen dataclasses: to a JSON-safe dict and back, by type hint.

`datetime` → ISO 8601 text, `timedelta` → seconds (float), an Enum → its value, a tuple →
a list, a Mapping → a dict; None stays None. Reading back, a key that is missing (an older
row) or None where the field takes no None gets the field's default. Adding a field to a
dataclass is then one change: its serialized form follows from its type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(obj: Any) -> dict[str, Any]:
    """The fields of dataclass instance `obj` as a JSON-safe dict."""
    return {f.name: _dump(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """The inverse of `to_json` for dataclass `cls`."""
    kwargs: dict[str, Any] = {}
    for name, (hint, has_default) in _fields(cls).items():
        value = data.get(name)
        if value is not None:
            kwargs[name] = _load(hint, value)
        elif not has_default:
            if not _optional(hint):
                raise KeyError(name)  # a required field is missing
            kwargs[name] = None
        # else: missing or None with a default: the field's own default
    return cls(**kwargs)


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    return value


_FIELDS: dict[type, dict[str, tuple[Any, bool]]] = {}


def _fields(cls: type) -> dict[str, tuple[Any, bool]]:
    """Each field's type hint and whether it has a default (computed once per class)."""
    known = _FIELDS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    known = _FIELDS[cls] = {
        f.name: (
            hints[f.name],
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    }
    return known


def _optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _load(hint: Any, value: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _load(args[0], value) if len(args) == 1 else value
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is timedelta:
        return timedelta(seconds=float(value))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if origin is tuple:
        return tuple(_load(args[0], v) for v in value) if args else tuple(value)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return dict(value)
    return value
