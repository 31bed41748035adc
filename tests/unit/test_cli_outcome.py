"""monitor.cli.outcome.echo writes text as click's echo (typer.echo) does, so a command's
messages are the same whether typer ran it or the quick path did (monitor/cli/quick.py)."""

from __future__ import annotations

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli.outcome import echo

MESSAGES = [
    "",
    "plain",
    "fresh.yml:3:5: unknown key 'colour'",
    "\x1b[31mred\x1b[0m and \x1b[1;33mbold\x1b[0m",
    "\x1b[?25l cursor",
    "naïve — ünïcödé ✓",
    "two\nlines",
]


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("err", [False, True])
def test_echo_writes_what_click_writes(
    message: str, err: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    typer.echo(message, err=err)
    theirs = capsys.readouterr()
    echo(message, err=err)
    assert capsys.readouterr() == theirs


@given(st.text(alphabet=st.sampled_from(["a", "\x1b", "[", ";", "?", "1", "m", "K", " ", "é"])))
def test_echo_strips_escapes_in_a_pipe_as_click_does(message: str) -> None:
    import io
    import sys

    outs = []
    for say in (typer.echo, echo):
        buffer = io.StringIO()
        sys.stdout, saved = buffer, sys.stdout
        try:
            say(message)
        finally:
            sys.stdout = saved
        outs.append(buffer.getvalue())
    assert outs[0] == outs[1]
