"""The `fresh` console script (and `python -m monitor.cli`): a plain `fresh check` runs
straight away (monitor.cli.quick, no typer); everything else goes through typer's app.

Python's cyclic garbage collector is off while the command line and a command's modules
are imported: they allocate tens of thousands of objects that live until the process ends,
and the collector scanning them while they are made cost `fresh check` ~4 ms of its ~250
for nothing it could free. The root callback turns it back on before any command but
`check`, a one-shot command that keeps it off to the end (monitor.cli.app._root); `fresh
serve` and the others run with it as usual.
"""

from __future__ import annotations

import gc
import os
import sys

gc.disable()


def console() -> None:
    """Run the command line; the process ends when the command does."""
    from monitor.cli.quick import quick_args, run

    args = quick_args(sys.argv[1:], os.environ)
    if args is not None:
        run(args)
        return
    from monitor.cli.app import console as typer_console

    typer_console()
