"""Command-line values converted without pydantic, where that gives typer's exact result.

typer (0.29 on) converts every parameter through a pydantic TypeAdapter it builds on first
use: importing pydantic and building the adapters costs `fresh check` about 100 ms, more
than reading a thousand tables. fresh's parameters are almost all plain text, paths, flags
and lists of text, whose conversion is trivial; `LeanTyper` gives those a converter
that does the same thing without pydantic, and hands anything else (a number, a value of
another type) to typer's own converter, so every value and every message stays typer's.

It relies on typer internals (`typer._coercion.RuntimeParam`, `_TyperParameter.
_runtime_param`): with a typer that lacks them, `LeanTyper` is typer's plain app and
nothing changes. tests/unit/test_cli_lean.py compares both converters value by value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer.core
from typer.models import CommandFunctionType

try:  # typer >= 0.29; older versions convert through click types and need none of this
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - exercised only with an older typer
    RuntimeParam = None  # type: ignore[assignment,misc]


def _plain(descriptor: Any) -> str | None:
    """'str', 'path' or 'list' when the parameter's conversion is one `LeanParam` does
    exactly as typer does, else None."""
    info = descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None:
        return None
    annotation = descriptor.annotation
    if annotation is str:
        return "str"
    if annotation is bool:
        return "bool"
    if annotation is Path and info.path_type in (None, Path):
        return "path"
    if getattr(annotation, "__origin__", None) is list and annotation.__args__ == (str,):
        return "list"
    return None


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class LeanParam(RuntimeParam):
        """Converts text, a path or a list of text as typer's adapter would; any other
        value goes to the adapter typer builds (only then)."""

        descriptor: TypeDescriptor = field(compare=False)
        kind: str = "str"

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.kind == "str" and isinstance(value, str):
                return value
            if self.kind == "bool" and isinstance(value, bool):
                return value
            if self.kind == "path" and isinstance(value, str):
                # typer's own checks (exists, readable, resolve_path…) on a Path already made
                info = self.descriptor.parameter_info
                return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
            if self.kind == "list" and isinstance(value, list | tuple):
                if all(isinstance(v, str) for v in value):
                    return list(value)
            elif self.kind == "list" and isinstance(value, str):
                return [value]
            return build_runtime_param(self.descriptor)._coerce_value(value, param, ctx)


def lean_params(command: Any) -> None:
    """Give `command`'s plain parameters the pydantic-free converter (once)."""
    for param in command.params:
        _make_lean(param)


def _make_lean(param: Any) -> None:
    if RuntimeParam is None:  # pragma: no cover
        return
    if not isinstance(param, _TyperParameter) or param._runtime_param is not None:
        return
    descriptor = param.type_descriptor
    kind = _plain(descriptor)
    if kind is not None:
        param._runtime_param = LeanParam(
            parameter_info=descriptor.parameter_info,
            annotation=descriptor.annotation,
            descriptor=descriptor,
            kind=kind,
        )


class _Lean:
    """Makes a typer command or group convert its parameters (its --help too) lean."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lean_params(self)

    def get_help_option(self, ctx: Any) -> Any:
        """typer's --help option, made lean (it is converted on every run, given or not)."""
        option = super().get_help_option(ctx)  # type: ignore[misc]
        _make_lean(option)
        return option


class LeanCommand(_Lean, typer.core.TyperCommand):
    """typer's command whose parameters (its --help too) convert lean."""


class LeanGroup(_Lean, typer.core.TyperGroup):
    """typer's group whose parameters (its --help too) convert lean."""


class LeanTyper(typer.Typer):
    """A typer app whose commands are `LeanCommand`s and groups `LeanGroup`s."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=LeanGroup, **kwargs)

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        """As typer's, with `LeanCommand` as the command class."""
        kwargs.setdefault("cls", LeanCommand)
        return super().command(*args, **kwargs)
