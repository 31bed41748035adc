"""Control characters: refused in names, owners and tags at validate (path:line:col), and
escaped in everything printed to a terminal (table report, validate/explain, text logs)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from monitor.cli.commands.explain import describe
from monitor.core.errors import Problem
from monitor.core.models import Status
from monitor.report.results import Result
from monitor.report.table import render_table
from monitor.serve import logs
from tests.unit.configkit import one_contract, problems
from tests.unit.report_fixtures import NOW, contract, verdict

# YAML double-quoted escapes write the characters themselves into the value
HOSTILE = {
    "ESC": ("\\e[2Jshop", "\\x1b"),
    "BEL": ("shop\\a", "\\x07"),
    "NUL": ("shop\\0", "\\x00"),
    "newline": ("shop\\nfake: line", "\\n"),
    "C1 CSI": ("shop\\x9b31m", "\\x9b"),
    "RTL override": ("shop\\u202Eredro", "\\u202e"),
}


@pytest.mark.parametrize(("written", "shown"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_control_character_in_a_name_is_refused_at_its_value(
    tmp_path: Path, written: str, shown: str
):
    body = f'name: "{written}"\nowner: ops\ntable: t\ncolumn: c\nerror_after: 1h'
    found = problems(tmp_path, checks={"c.yml": one_contract(body)})
    assert any(
        f.startswith("checks/c.yml:2:11: name: contains the control character " + shown)
        for f in found
    ), found
    assert all("\x1b" not in f and "\n" not in f and "\u202e" not in f for f in found)


@pytest.mark.parametrize(("written", "shown"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_control_character_in_an_owner_is_refused_here_or_in_defaults(
    tmp_path: Path, written: str, shown: str
):
    body = "name: shop.orders\ntable: t\ncolumn: c\nerror_after: 1h"
    found = problems(tmp_path, checks={"c.yml": one_contract(body, f'owner: "{written}"')})
    assert found == [
        f"checks/c.yml:2:10: owner: contains the control character {shown} at position "
        + str(5 if written.startswith("shop") else 1)
    ]


def test_a_control_character_in_a_tag_is_refused_at_that_tag(tmp_path: Path):
    body = (
        'name: shop.orders\nowner: ops\ntable: t\ncolumn: c\nerror_after: 1h\ntags: [ok, "b\\ad"]'
    )
    found = problems(tmp_path, checks={"c.yml": one_contract(body)})
    assert found == ["checks/c.yml:7:16: tags: contains the control character \\x07 at position 2"]


def test_a_control_character_in_a_declared_owner_is_refused_at_the_key(tmp_path: Path):
    fresh = 'owners:\n  ops:\n    notify: []\n  "o\\u202Eps": {}\n'
    found = problems(tmp_path, fresh=fresh)
    assert found == [
        "fresh.yml:4:3: owners.o\\u202eps: owner name contains the control character \\u202e"
        " at position 2"
    ]


def test_a_problem_prints_as_one_inert_line_whatever_the_file_name():
    text = str(Problem("checks/\x1b]0;pwned\x07.yml", 1, 1, "line\nforged"))
    assert text == "checks/\\x1b]0;pwned\\x07.yml:1:1: line\\nforged"


def test_the_table_report_escapes_names_owners_and_warehouse_errors():
    c = contract("shop\x1b[2J", owner="ops\u202e")
    v = verdict("shop\x1b[2J", Status.ERROR, error="boom\x1b]0;x\x07\nsecond line")
    out = render_table([Result(c, v)], NOW)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "shop\\x1b[2J" in out and "ops\\u202e" in out and "boom\\x1b]0;x\\x07 second line" in out
    assert len(out.splitlines()) == 4  # header, one row, blank, summary


def test_a_coloured_table_still_paints_only_its_own_status():
    c = contract("shop\x1b[31m")
    out = render_table([Result(c, verdict("shop\x1b[31m", Status.FRESH))], NOW, color=True)
    assert out.count("\x1b") == 2  # the status colour and its reset, nothing from the name


def test_explain_prints_a_description_with_control_characters_inert():
    c = contract("shop.orders")
    object.__setattr__(c, "description", "hello\x1b[8mhidden\nsecond")
    out = describe(c)
    assert "\x1b" not in out and "hello\\x1b[8mhidden\\nsecond" in out


def test_text_logs_escape_control_characters_in_messages_and_fields():
    stream = io.StringIO()
    logs.setup("text", stream=stream)
    log = logging.getLogger("fresh.test")
    log.info("a\x1b[2Jb", extra={"event": "x", "contract": "c\u202ed\x9b"})
    line = stream.getvalue()
    assert "\x1b" not in line and "\u202e" not in line and "\x9b" not in line
    assert "a\\x1b[2Jb" in line and "c\\u202ed\\x9b" in line
    assert line.count("\n") == 1
