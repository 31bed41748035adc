"""The `fresh` console script (and `python -m monitor.cli`): the command line, imported with
Python's cyclic garbage collector off.

Importing the command line and the modules of a command allocates tens of thousands of
objects that live until the process ends; the collector scanning them while they are made
cost `fresh check` ~4 ms of its ~250 for nothing it could free. The root callback turns
the collector back on before any command but `check`, a one-shot command that keeps it off
to the end (monitor.cli.app._root); `fresh serve` and the others run with it as usual.
"""

from __future__ import annotations

import gc

gc.disable()

from monitor.cli.app import console as _console  # noqa: E402  (after gc.disable, on purpose)


def console() -> None:
    """Run the command line; the process ends when the command does."""
    _console()
