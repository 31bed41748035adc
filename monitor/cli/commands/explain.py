"""`fresh explain NAME`: what fresh reads for a contract and what it expects, in words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from monitor.config.loader import load_project
from monitor.config.values import did_you_mean
from monitor.core.clock import SystemClock
from monitor.core.errors import UsageError
from monitor.core.evaluate import expectation_in_words
from monitor.core.models import Contract
from monitor.core.textsafe import terminal_safe
from monitor.report.results import value_text
from monitor.sources import explain_contract


def explain_command(name: str, config: Path | None, checks: Path | None) -> int:
    """Print the contract's source read and its expectation; unknown name → exit 2."""
    project = load_project(config, checks)
    contracts = project.by_name()
    contract = contracts.get(name)
    if contract is None:
        raise UsageError(unknown_contract_message(name, list(contracts)))

    typer.echo(describe(contract))
    typer.echo("")
    typer.echo("Reads:")
    try:
        reads = explain_contract(contract, project.settings)
    except Exception as exc:  # a source kind still missing a piece: say so, show the rest
        reads = f"(cannot show the read: {type(exc).__name__}: {exc})"
    typer.echo(_indent(reads))
    typer.echo("")
    typer.echo("Expects:")
    now = SystemClock().now()
    typer.echo(_indent(expectation_in_words(contract, now)))
    if contract.expectation.learn is not None:
        typer.echo("")
        typer.echo("Learned:")
        typer.echo(_indent(learned_in_words(contract, project.settings, now)))
    return 0


def learned_in_words(contract: Contract, settings: Any, now: datetime) -> str:
    """The learned profile from the state store's cached history (SPEC 13); reads nothing
    from the warehouse."""
    from monitor.core.learn import learn_limits, profile_in_words
    from monitor.store import Store

    learn = contract.expectation.learn
    assert learn is not None
    try:
        with Store.from_settings(settings) as store:
            history = store.learned_updates([contract.name], now - learn.window, now)
    except Exception as exc:
        return f"(cannot read the learned history: {exc})"
    seen = history.get(contract.name, [])
    tz = contract.expectation.timezone
    last = datetime.fromtimestamp(seen[-1], UTC) if seen else None
    learned = learn_limits(seen, last, now, tz, learn.window)
    return profile_in_words(learned, seen, now, tz)


def unknown_contract_message(name: str, known: list[str]) -> str:
    """`unknown contract 'x' (did you mean 'y'?)`, or how to list them."""
    hint = did_you_mean(name, known, n=3)
    if hint:
        return f"unknown contract {name!r}{hint}"
    if not known:
        return f"unknown contract {name!r}: no contracts are declared"
    return f"unknown contract {name!r} (`fresh check` lists all {len(known)} contracts)"


def describe(contract: Contract) -> str:
    """The header: name, where it is declared, and who it belongs to."""
    where = [str(contract.location)] if contract.location else []
    if contract.node:  # imported: the dbt unique_id or data contract element (SPEC 11)
        where.append(contract.node)
    lines = [contract.name + (f"  ({', '.join(where)})" if where else "")]
    if contract.description:
        lines.append(f"  {contract.description}")
    facts = [
        f"owner: {contract.owner}",
        f"severity: {contract.severity.value}",
        f"warehouse: {contract.warehouse}",
    ]
    if contract.tags:
        facts.append(f"tags: {', '.join(contract.tags)}")
    lines.append("  " + " · ".join(facts))
    if contract.metadata:
        for key, value in contract.metadata.items():
            lines.append(f"  {key}: {value_text(value)}")
    # Each line alone: a description holding ESC, a newline or a bidi override prints inert.
    return "\n".join(terminal_safe(line) for line in lines)


def _indent(text: str) -> str:
    lines = (terminal_safe(line) for line in text.rstrip().splitlines())
    return "\n".join("  " + line if line else line for line in lines)
