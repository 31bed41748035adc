"""YAML with positions: values as PyYAML's safe loader reads them, plus 1-based marks."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from monitor.config.yamlpos import Pos, YList, YMap, load

SAMPLES = [
    "a: 1\nb: [x, 2.5, true, null, ~, 0x1f, '3']\nc: {d: e}\n",
    "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n",
    "merge:\n  <<: [{a: 1}, {b: 2}]\n  c: 3\n",
    "multi: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    "- 1\n- - 2\n  - 3\n- {k: v}\n",
    "when: 2026-11-24\nyes_no: yes\nquoted: 'yes'\nempty:\n",
    "plain text\n",
]


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("text", SAMPLES)
def test_values_match_pyyamls_safe_loader(text: str):
    value, problems = load(text, {})
    assert problems == []
    expected = yaml.safe_load(text)
    if isinstance(expected, dict) and "when" in expected:
        expected["when"] = "2026-11-24"  # timestamps stay text (they end up in JSON)
    assert _plain(value) == expected


def test_positions_of_keys_values_and_items_are_one_based():
    text = textwrap.dedent("""\
        top:
          key: value
          list:
            - first
            - {inner: 1}
        """)
    value, _ = load(text, {})
    assert isinstance(value, YMap)
    assert value.pos == Pos(1, 1)
    top = value["top"]
    assert value.key_pos("top") == Pos(1, 1)
    assert top.key_pos("key") == Pos(2, 3)
    assert top.val_pos("key") == Pos(2, 8)
    items = top["list"]
    assert isinstance(items, YList)
    assert items.item_pos(0) == Pos(4, 7)
    assert items.item_pos(1) == Pos(5, 7)
    assert items[1].key_pos("inner") == Pos(5, 8)
    assert top.key_pos("missing") == top.pos  # unknown keys fall back to the mapping


def test_env_expansion_and_empty_values_drop_the_key():
    value, problems = load("a: ${A}\nb: ${B:-dflt}\nc: ${C:-}\nd: [x, '${C:-}']\n", {"A": "1"})
    assert problems == []
    assert _plain(value) == {"a": "1", "b": "dflt", "d": ["x"]}


def test_a_missing_variable_is_a_problem_at_the_value():
    _, problems = load("k:\n  url: x://${NOPE}@h\n", {})
    assert [(p.pos, p.message.split(" (")[0]) for p in problems] == [
        (Pos(2, 8), "environment variable NOPE is not set")
    ]


@pytest.mark.parametrize(
    ("text", "pos", "message"),
    [
        ("a: [1, 2\n", Pos(2, 1), "invalid YAML"),
        ("a: 1\n b: 2\n", Pos(2, 3), "invalid YAML"),
        ("a: *nope\n", Pos(1, 4), "undefined alias"),
        ("a: 1\n---\nb: 2\n", Pos(2, 1), "single document"),
        ("a: 1\na: 2\n", Pos(2, 1), "duplicate key 'a' (first at line 1)"),
        ("? [x]\n: 1\n", Pos(1, 3), "a key must be plain text"),
        ("<<: [1]\n", Pos(1, 5), "'<<' merges only mappings"),
    ],
)
def test_malformed_yaml_is_one_problem_with_its_position(text: str, pos: Pos, message: str):
    _, problems = load(text, {})
    assert len(problems) == 1
    assert problems[0].pos == pos
    assert message in problems[0].message


def test_an_empty_document_is_an_empty_mapping():
    value, problems = load("", {})
    assert value == {} and isinstance(value, YMap) and problems == []
    value, problems = load("# only a comment\n", {})
    assert value == {} and problems == []
