"""fresh.yml validated by the reference models (settings_schema.py), and pydantic's
validation errors as Problems at their place in the YAML: the position of the offending
key or value (or of the item an `ItemError` names), the key path as the user wrote it
(`alerts.routes[0].match`), and did-you-mean for unknown keys. Imported only when
settings_lean.py cannot vouch for a fresh.yml on its own.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.config import settings_schema
from monitor.config.settings import INTERNAL_KEYS, Settings
from monitor.config.values import ItemError, did_you_mean
from monitor.config.yamlpos import YList, YMap, walk
from monitor.core.errors import Problem


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_problems(
    display: str, data: YMap, values: Mapping[str, Any]
) -> tuple[Settings | None, list[Problem]]:
    """(settings, []) or (None, a Problem for each of pydantic's errors)."""
    try:
        return settings_schema.validate_settings(values), []
    except ValidationError as exc:
        model = settings_schema.Settings
        return None, [
            pydantic_problem(display, data, e, model, INTERNAL_KEYS) for e in exc.errors()
        ]


def pydantic_problem(
    display: str, data: YMap, err: Any, model: type[BaseModel], hidden: tuple[str, ...] = ()
) -> Problem:
    """One of pydantic's errors (from validating `data` into `model`) as a Problem at the
    position of the offending key or value, with did-you-mean for unknown keys (`hidden`:
    fields of `model` that are not keys users write)."""
    loc: tuple[Any, ...] = tuple(err["loc"])
    kind, msg = err["type"], str(err["msg"])
    if kind == "extra_forbidden":
        key = str(loc[-1])
        node = walk(data, loc[:-1])[2]
        pos = node.key_pos(key) if isinstance(node, YMap) else data.pos
        allowed = [k for k in _fields_at(model, loc[:-1]) if k not in hidden]
        where = f" in {_loc_text(loc[:-1])}" if loc[:-1] else ""
        return Problem(
            display, pos.line, pos.col, f"unknown key {key!r}{where}{did_you_mean(key, allowed)}"
        )
    if kind == "missing":
        _, pos, _ = walk(data, loc[:-1])
        where = f"{_loc_text(loc[:-1])}: " if loc[:-1] else ""
        return Problem(display, pos.line, pos.col, f"{where}missing required key {loc[-1]!r}")
    _, pos, node = walk(data, loc)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ItemError):
        loc = (*loc, cause.item)
        if isinstance(node, YMap) and isinstance(cause.item, str) and cause.item in node:
            pos = node.key_pos(cause.item) if cause.at_key else node.val_pos(cause.item)
        elif isinstance(node, YList) and isinstance(cause.item, int):
            pos = node.item_pos(cause.item)
        msg = str(cause)
    msg = msg.removeprefix("Value error, ")
    return Problem(display, pos.line, pos.col, f"{_loc_text(loc)}: {msg}")


def _fields_at(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `loc` inside `model` (for did-you-mean)."""
    tp = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {(f.alias or n): f.annotation for n, f in tp.model_fields.items()}
            tp = fields.get(part)
            if tp is None:
                return []
        else:
            origin, args = typing.get_origin(tp), typing.get_args(tp)
            if origin is dict and len(args) == 2:
                tp = args[1]
            elif origin is tuple and args:
                tp = args[0]
            else:
                return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [(f.alias or n) for n, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp
