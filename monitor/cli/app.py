"""The `fresh` command line (typer). Each command lazily imports its implementation from
`monitor.cli.commands`, so `fresh --help` stays fast; `run_command` maps FreshError to a message
and an exit code in one place.

No `from __future__ import annotations` here: typer reads every command's parameters from
their annotations, and string annotations cost it an eval each (~5 ms on every run)."""

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from monitor import __version__
from monitor.cli.lean import LeanTyper
from monitor.cli.outcome import exit_code, exit_now, settle_closes

# LeanTyper: typer's app whose parameters convert without pydantic (monitor/cli/lean.py)
app = LeanTyper(
    name="fresh",
    help="Freshness contracts for data teams: check, serve metrics, alert owners.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
silence_app = LeanTyper(help="Mute alerts for a while.", no_args_is_help=True)
app.add_typer(silence_app, name="silence")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="FRESH_CONFIG", help="Path to fresh.yml.", show_default=False),
]
ChecksOpt = Annotated[
    Path | None,
    typer.Option("--checks", help="Folder of contracts (default: checks/ beside fresh.yml)."),
]
UrlOpt = Annotated[
    str | None,
    typer.Option("--url", envvar="FRESH_URL", help="POST to a running `fresh serve` instead."),
]

T = TypeVar("T")


def run_command(fn: Callable[[], int]) -> None:
    """Run a command body; turn FreshError into its message and exit code."""
    raise typer.Exit(exit_code(fn, typer.echo))


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if ctx.invoked_subcommand != "check":
        # The console script imports with the collector off (monitor.cli.entry); only the
        # one-shot `check` keeps it off to the end.
        gc.enable()
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.command()
def init(directory: Annotated[Path, typer.Argument()] = Path(".")) -> None:
    """Write a commented fresh.yml and checks/example.yml."""
    from monitor.cli.commands.init import init_project

    run_command(lambda: init_project(directory))


@app.command()
def validate(config: ConfigOpt = None, checks: ChecksOpt = None) -> None:
    """Check every file without connecting; all errors at once."""
    from monitor.cli.commands.validate import validate_project

    run_command(lambda: validate_project(config, checks))


@app.command()
def check(
    config: ConfigOpt = None,
    checks: ChecksOpt = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", "-s", help="Name glob, owner:X, tag:X or warehouse:X."),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="table, json, junit, github or markdown.")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="warn or stale.")] = "stale",
    at: Annotated[
        str | None, typer.Option("--at", help="Evaluate as of this ISO-8601 time.")
    ] = None,
) -> None:
    """Evaluate contracts once and report (exit 1 when any is stale or error)."""
    from monitor.cli.commands.check import check_command

    _QUICK_EXIT.add("check")
    run_command(
        lambda: check_command(
            config, checks, select or [], format, output, fail_on, at, ends_process=_ENDS_PROCESS
        )
    )


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="dbt or datacontract.")],
    path: Annotated[str, typer.Argument(help="Manifest, dbt project folder, or contract glob.")],
    owner: Annotated[
        str | None, typer.Option("--owner", help="Owner of sources that name none.")
    ] = None,
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", help="The warehouse that reads them (main).")
    ] = None,
    server: Annotated[
        list[str] | None,
        typer.Option("--server", help="SERVER=WAREHOUSE: a data contract's server (repeatable)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write dbt sources or data contracts as checks/ YAML (exit codes as validate)."""
    from monitor.cli.commands.import_ import import_command

    run_command(lambda: import_command(kind, path, owner, warehouse, server or [], output, config))


@app.command()
def explain(name: str, config: ConfigOpt = None, checks: ChecksOpt = None) -> None:
    """Show the SQL or file read and the expectation in words."""
    from monitor.cli.commands.explain import explain_command

    run_command(lambda: explain_command(name, config, checks))


@app.command()
def serve(
    config: ConfigOpt = None,
    checks: ChecksOpt = None,
    listen: Annotated[str | None, typer.Option("--listen", help="HOST:PORT")] = None,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json.")] = "text",
) -> None:
    """The service: scheduler, metrics, API, status page, alerts."""
    from monitor.cli.commands.serve import serve_command

    run_command(lambda: serve_command(config, checks, listen, log_format))


@app.command()
def demo(
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT")] = "127.0.0.1:9184",
    notify: Annotated[
        str | None, typer.Option("--notify", help="An apprise URL for demo alerts.")
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo project is written.")
    ] = Path("demo"),
) -> None:
    """Build a demo DuckDB warehouse with fresh, late and stale tables, then serve it."""
    from monitor.cli.commands.demo import demo_command

    run_command(lambda: demo_command(listen, notify, directory))


@app.command()
def ping(
    name: str,
    start: Annotated[bool, typer.Option("--start", help="A run has started.")] = False,
    fail: Annotated[bool, typer.Option("--fail", help="A run has failed.")] = False,
    exit_code: Annotated[int | None, typer.Option("--exit-code")] = None,
    url: UrlOpt = None,
    config: ConfigOpt = None,
    checks: ChecksOpt = None,
) -> None:
    """Record a heartbeat (standard input, when piped, is kept as the output tail)."""
    from monitor.cli.commands.ping import ping_command

    run_command(lambda: ping_command(name, start, fail, exit_code, url, config, checks))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    name: str,
    url: UrlOpt = None,
    config: ConfigOpt = None,
    checks: ChecksOpt = None,
) -> None:
    """Run CMD, record start, end, exit code, duration and output tail; exit with its code."""
    from monitor.cli.commands.run import run_wrapped

    run_command(lambda: run_wrapped(name, list(ctx.args), url, config, checks))


@silence_app.command("add")
def silence_add(
    matchers: Annotated[list[str], typer.Argument(help="contract:GLOB, owner:X, tag:X…")],
    for_: Annotated[str | None, typer.Option("--for", help="How long, e.g. 2h.")] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Until when, e.g. 2026-12-24T18:00:00Z.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    config: ConfigOpt = None,
) -> None:
    """Mute matching alerts (--for or --until); prints the silence's ID."""
    from monitor.cli.commands.silence import silence_add as impl

    run_command(lambda: impl(matchers, for_, reason, config, until=until))


@silence_app.command("list")
def silence_list(config: ConfigOpt = None) -> None:
    """Show active silences and open maintenance windows: ID, source, matchers, reason, end."""
    from monitor.cli.commands.silence import silence_list as impl

    run_command(lambda: impl(config))


@silence_app.command("remove")
def silence_remove(silence_id: str, config: ConfigOpt = None) -> None:
    """End a silence now."""
    from monitor.cli.commands.silence import silence_remove as impl

    run_command(lambda: impl(silence_id, config))


@app.command("notify-test")
def notify_test(owner: str, config: ConfigOpt = None, checks: ChecksOpt = None) -> None:
    """Send a test alert along OWNER's routes and report each URL's result."""
    from monitor.cli.commands.notify_test import notify_test_command

    run_command(lambda: notify_test_command(owner, config, checks))


# Commands whose process may end without the interpreter's teardown (see `main`).
_QUICK_EXIT: set[str] = set()
# Set by `console`: the process ends once the command returns.
_ENDS_PROCESS = False


def main() -> None:
    """Run the command line in this process (ends with SystemExit, which callers may catch)."""
    app(prog_name="fresh")


def console() -> None:
    """The `fresh` console script (through monitor.cli.entry) and `python -m monitor.cli`:
    `main`, after which the process of a one-shot command ends without the interpreter's
    teardown (monitor.cli.outcome.exit_now)."""
    global _ENDS_PROCESS
    _ENDS_PROCESS = True
    try:
        main()
    except SystemExit as done:
        if _QUICK_EXIT and isinstance(done.code, int | None):
            exit_now(done.code or 0)
        raise
    finally:
        settle_closes()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())  # type: ignore[func-returns-value]
