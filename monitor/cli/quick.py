"""`fresh check` run straight from the console script, without importing typer, when its
command line is a plain one.

Importing typer and building its command tree costs `fresh check` ~20 ms of ~230 for
1,000 contracts. A command line made only of `check` and its own options, each given once
(`--select` any number of times) with a value that is neither empty nor starting with `-`,
means exactly what typer would make of it, so `quick_args` reads it directly; anything else
(`--help`, an unknown or repeated option, a missing value, `--`, a positional argument,
`FRESH_CONFIG` in the environment, a shell-completion request, a path that exists but cannot
be read) returns None and typer parses it, with its own messages. What the command then
prints and exits with is the same either way (monitor.cli.outcome; tests/integration/
test_cli_quick.py runs both on the same command lines and compares them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# option → (check_command's parameter, its short form, is a path, may repeat)
_OPTIONS: dict[str, tuple[str, str | None, bool, bool]] = {
    "--config": ("config", None, True, False),
    "--checks": ("checks", None, True, False),
    "--select": ("select", "-s", False, True),
    "--format": ("fmt", "-f", False, False),
    "--output": ("output", "-o", True, False),
    "--fail-on": ("fail_on", None, False, False),
    "--at": ("at", None, False, False),
}
_SHORT = {short: long for long, (_, short, _, _) in _OPTIONS.items() if short}


def quick_args(argv: Sequence[str], env: Mapping[str, str]) -> dict[str, Any] | None:
    """check_command's keyword arguments for a plain `fresh check …` command line (those
    not given keep check_command's defaults, which are typer's), else None."""
    if not argv or argv[0] != "check" or "FRESH_CONFIG" in env:
        return None
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in env):
        return None  # click's shell completion asks through such a variable
    found: dict[str, Any] = {"select": []}
    seen: set[str] = set()
    rest = list(argv[1:])
    while rest:
        token = rest.pop(0)
        name, eq, value = token.partition("=")
        name = _SHORT.get(name, name) if not eq else name
        if name not in _OPTIONS or (eq and not token.startswith("--")):
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        param, _, is_path, repeats = _OPTIONS[name]
        if not value or value.startswith("-") or (name in seen and not repeats):
            return None
        seen.add(name)
        if is_path:
            if os.path.exists(value) and not os.access(value, os.R_OK):
                return None  # typer refuses it with its own message
            found[param] = Path(value)
        elif repeats:
            found[param].append(value)
        else:
            found[param] = value
    return found


def run(args: dict[str, Any]) -> None:
    """Run `fresh check` with `args` as typer's `check` command would, then end the process."""
    from monitor.cli.outcome import exit_code, exit_now, settle_closes, silence

    try:
        from monitor.cli.commands.check import check_command

        code = exit_code(lambda: check_command(**args, ends_process=True))
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 1  # as click: the reader went away; say nothing more
        silence(sys.stdout, sys.stderr)
    except BaseException:
        settle_closes()  # a bug: the traceback and an ordinary exit, files closed first
        raise
    exit_now(code)
    settle_closes()  # an ordinary exit after all (another thread still runs)
    sys.exit(code)
