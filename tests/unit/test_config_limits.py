"""Hostile YAML is refused whole, fast and without expanding it (SPEC 16): alias bombs,
deep nesting, recursive aliases, control characters and non-UTF-8 bytes at their place,
and `.yml` symlinks that lead nowhere."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from monitor.config.yamllimits import EXPANSION, MAX_DEPTH, MAX_NODES
from monitor.config.yamlpos import Pos, load
from tests.unit.configkit import problems


def lol(levels: int = 9, width: int = 9, leaf: str = "[lol]") -> str:
    """The classic "billion laughs": each level aliases the one below `width` times."""
    lines = [f"  a0: &a0 {leaf}"]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "metadata:\n" + "\n".join(lines) + "\n"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_billion_laughs_is_refused_at_an_alias_in_milliseconds_without_growing_memory():
    before = _peak_mb()
    started = time.perf_counter()
    value, found = load(lol(), {})
    elapsed = time.perf_counter() - started
    assert value is None
    assert len(found) == 1 and "alias bomb" in found[0].message
    assert found[0].pos.line > 1
    assert elapsed < 1.0
    assert _peak_mb() - before < 50


def test_a_bomb_of_empty_strings_is_refused_by_the_node_cap():
    # No bytes to count: only the 5 million node cap (or 50x own nodes) can catch it.
    value, found = load(lol(leaf="['', '', '', '', '', '', '', '', '']"), {})
    assert value is None
    assert found[0].message.startswith(f"aliases expand this document to more than {MAX_NODES:,}")


def test_expanding_to_more_than_fifty_times_the_own_nodes_is_refused_at_the_biggest_alias():
    # 400 aliases of a 61-node list: 24,465 nodes expanded, 465 written (under the 5 million
    # and the size caps: empty strings weigh nothing).
    leaf = "[" + ", ".join(["''"] * 60) + "]"
    text = f"a: &a {leaf}\nb: [" + ", ".join(["*a"] * 400) + "]\n"
    value, found = load(text, {})
    assert value is None
    assert found == [
        (
            Pos(2, 5),
            f"aliases expand this document to 24,465 nodes, more than {EXPANSION} times its own"
            " 465: refused (an alias bomb?)",
        )
    ]
    fewer = f"a: &a {leaf}\nb: [" + ", ".join(["*a"] * 200) + "]\n"
    assert load(fewer, {})[1] == []


def test_one_big_string_aliased_two_thousand_times_is_refused_by_the_size_cap():
    text = "s: &s " + "x" * 990_000 + "\nl: [" + ", ".join(["*s"] * 2000) + "]\n"
    value, found = load(text, {})
    assert value is None
    # 998,011 characters of its own, one string of 990,000: the 50th alias makes 51 of them
    assert found == [
        (
            Pos(2, 5 + 4 * 49),
            f"aliases expand this document to more than {EXPANSION} times its own"
            f" {len(text):,} characters: refused (an alias bomb?)",
        )
    ]


def test_aliases_within_the_caps_load_and_share_the_anchored_value():
    text = "d: &d {owner: a, tags: [x]}\nl: [*d, *d, *d]\n"
    value, found = load(text, {})
    assert found == []
    assert value["l"][0] is value["l"][2] is value["d"]


def test_nesting_deeper_than_the_limit_is_refused_where_it_goes_too_deep():
    _, found = load("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n", {})
    assert found == []
    value, found = load("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n", {})
    assert value is None
    assert found == [(Pos(1, 3 + MAX_DEPTH), f"nesting deeper than {MAX_DEPTH} levels")]


def test_nesting_made_deep_through_aliases_is_refused_too():
    deep = "[" * 60 + "]" * 60
    text = f"a: &a {deep}\nb: " + "[" * 50 + "*a" + "]" * 50 + "\n"
    value, found = load(text, {})
    assert value is None
    assert found == [(Pos(2, 54), f"nesting deeper than {MAX_DEPTH} levels (through *a)")]


def test_an_alias_inside_its_own_anchor_is_refused():
    value, found = load("a: &x [1, {b: *x}]\n", {})
    assert value is None
    assert found == [(Pos(1, 15), "alias *x is inside its own anchor (a recursive structure)")]


def test_a_control_character_is_reported_at_its_line_and_column():
    value, found = load("a: b\nc:\n  d: x\x07y\n", {})
    assert value is None
    assert found == [(Pos(3, 7), "invalid YAML: control characters are not allowed (#x0007)")]


def test_a_bomb_in_checks_is_a_problem_naming_the_file(tmp_path: Path):
    found = problems(tmp_path, checks={"bomb.yml": lol()})
    assert len(found) == 1
    assert found[0].startswith("checks/bomb.yml:") and "alias bomb" in found[0]


def test_a_bomb_in_fresh_yml_is_a_problem_naming_the_file(tmp_path: Path):
    found = problems(tmp_path, fresh=lol().replace("metadata:", "owners:"))
    assert found[0].startswith("fresh.yml:") and "alias bomb" in found[0]


def test_a_byte_that_is_not_utf8_is_reported_at_its_line_and_column(tmp_path: Path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "latin.yml").write_bytes(
        "contracts:\n  - name: caf\u00e9s\n    owner: d\u00e9\xff\n".encode("latin-1")
    )
    found = problems(tmp_path)
    assert found == ["checks/latin.yml:2:14: not UTF-8 text: byte 0xe9 (invalid continuation byte)"]


def test_a_byte_that_is_not_utf8_after_utf8_text_counts_characters(tmp_path: Path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "mixed.yml").write_bytes(
        "contracts: []\n# \u00e9t\u00e9 ".encode() + b"\xff\n"
    )
    assert problems(tmp_path) == [
        "checks/mixed.yml:2:7: not UTF-8 text: byte 0xff (invalid start byte)"
    ]


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ({"loop.yml": "loop.yml"}, "symlink loop"),
        ({"a.yml": "b.yml", "b.yml": "a.yml"}, "symlink loop"),
        ({"gone.yml": "nowhere.yml"}, "broken symlink"),
    ],
)
def test_yml_symlinks_that_lead_nowhere_are_problems_naming_them(
    tmp_path: Path, links: dict[str, str], message: str
):
    checks = tmp_path / "checks"
    checks.mkdir()
    for name, target in links.items():
        os.symlink(target, checks / name)
    found = problems(tmp_path)
    assert found == [
        f"checks/{name}:1:1: {message}: it points to no file" for name in sorted(links)
    ]


def test_a_fresh_yml_symlink_that_leads_nowhere_is_an_error_not_the_defaults(tmp_path: Path):
    os.symlink("elsewhere/fresh.yml", tmp_path / "fresh.yml")
    assert problems(tmp_path) == ["fresh.yml:1:1: broken symlink: it points to no file"]
