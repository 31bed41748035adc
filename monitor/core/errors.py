"""One error hierarchy; `cli/app.py`'s `run_command` turns these into a message and an exit
code, and `fresh serve`'s routes into a JSON error.

FreshError
├── ConfigError              bad fresh.yml / checks: carries every Problem found (exit 2)
├── UsageError               bad command-line input (exit 2)
│   ├── UnknownContractError     `fresh ping` / `run` / the ping API: no such contract
│   └── NotAHeartbeatError       ... a contract that is not a heartbeat
├── SourceError              a source could not be read (verdict `error`, never a crash)
├── StoreError               the state store refused (e.g. second serve on one SQLite file)
└── PingDeliveryError        `fresh ping --url`: the serve could not be reached or refused
(the last three under monitor/sources/heartbeat/pings.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from monitor.core.textsafe import terminal_safe


class ExitCode(IntEnum):
    """Exit codes of every command but `fresh run` (which passes its child's through)."""

    OK = 0
    FAILED = 1  # some contract stale or error (per --fail-on), or a send failed
    INVALID = 2  # invalid configuration or usage


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a file, with its position (1-based line and column)."""

    path: str
    line: int
    col: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        # One line whatever a file name or a quoted value holds (it is printed and logged).
        kind = "warning: " if self.warning else ""
        return terminal_safe(f"{self.path}:{self.line}:{self.col}: {kind}{self.message}")


class FreshError(Exception):
    """Base of every error fresh raises on purpose."""

    exit_code: ExitCode = ExitCode.INVALID


class ConfigError(FreshError):
    """The configuration is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(FreshError):
    """Bad command-line input."""


class SourceError(FreshError):
    """A source could not be read; the message says why (secrets masked)."""

    exit_code = ExitCode.FAILED


class StoreError(FreshError):
    """The state store could not be used."""

