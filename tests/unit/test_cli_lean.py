"""monitor/cli/lean.py converts every plain parameter exactly as typer's pydantic adapter
does: same value, same error, for every parameter of every command (their --help too)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer._click import Context, exceptions
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter
from typer.main import get_command

from monitor.cli.app import app
from monitor.cli.lean import LeanParam


def parameters() -> list[tuple[str, Any, Any]]:
    """(command path, click command, parameter) for the whole `fresh` tree."""
    out: list[tuple[str, Any, Any]] = []

    def walk(cmd: Any, path: str) -> None:
        ctx = Context(cmd, info_name=path)
        for p in cmd.get_params(ctx):
            out.append((path, cmd, p))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(get_command(app), "fresh")
    return out


PARAMS = parameters()


def test_every_plain_parameter_is_lean() -> None:
    """Text, paths, flags and lists of text: everything `fresh` has but `--exit-code`."""
    lean = {f"{path} {p.name}" for path, _, p in PARAMS if isinstance(p._runtime_param, LeanParam)}
    others = {f"{path} {p.name}" for path, _, p in PARAMS} - lean
    assert others == {"fresh ping exit_code"}
    assert {"fresh check select", "fresh check config", "fresh check help"} <= lean


def outcome(convert: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return "ok", convert(value, param=param, ctx=ctx)
    except exceptions.BadParameter as exc:
        return "error", exc.format_message()


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("lean")
    (root / "file.yml").write_text("x: 1\n")
    (root / "dir").mkdir()
    os.symlink(root / "nowhere", root / "broken")
    return {n: str(root / n) for n in ("file.yml", "dir", "broken", "missing")}


TEXTS = ["", "x", "-", " spaced ", "tag:revenue", "\udcff.yml", "é", "a\nb", "--at"]


@pytest.mark.parametrize("where", [f"{path} {p.name}" for path, _, p in PARAMS])
def test_lean_and_typer_agree_on_every_value(where: str, paths: dict[str, str]) -> None:
    path, cmd, param = next((a, c, p) for a, c, p in PARAMS if f"{a} {p.name}" == where)
    assert isinstance(param, _TyperParameter)
    ctx = Context(cmd, info_name=path)
    lean = param.get_runtime_param()
    typer_own = build_runtime_param(param.type_descriptor)
    texts = [*TEXTS, *paths.values()]
    values: list[Any] = [None, True, False, 3, *texts, tuple(texts), list(texts[:2]), ("x",), ()]
    for value in values:
        if (param.multiple or param.nargs == -1) and isinstance(value, str):
            continue  # click never hands a multi-value parameter a bare string
        assert outcome(lean.coerce, value, param, ctx) == outcome(
            typer_own.coerce, value, param, ctx
        ), (where, value)


def test_a_value_lean_cannot_convert_goes_to_typer(paths: dict[str, str]) -> None:
    """A Path parameter given a non-text value: typer's own adapter decides."""
    where = "fresh check config"
    path, cmd, param = next((a, c, p) for a, c, p in PARAMS if f"{a} {p.name}" == where)
    ctx = Context(cmd, info_name=path)
    assert param.get_runtime_param().coerce(Path(paths["dir"]), param, ctx) == Path(paths["dir"])
    assert outcome(param.get_runtime_param().coerce, 7, param, ctx)[0] == "error"
