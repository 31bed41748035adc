"""One function makes text safe for a terminal; one check refuses control characters."""

from __future__ import annotations

import pytest

from monitor.core.textsafe import control_problem, terminal_safe

HOSTILE = [
    ("\x1b[2J", "\\x1b[2J"),
    ("ding\x07", "ding\\x07"),
    ("nul\x00", "nul\\x00"),
    ("two\nlines\r", "two\\nlines\\r"),
    ("tab\there", "tab\\there"),
    ("c1\x9b31m", "c1\\x9b31m"),
    ("del\x7f", "del\\x7f"),
    ("abc\u202ecba", "abc\\u202ecba"),
    ("iso\u2066late\u2069", "iso\\u2066late\\u2069"),
    ("sep\u2028", "sep\\u2028"),
]


@pytest.mark.parametrize(("text", "shown"), HOSTILE)
def test_terminal_safe_escapes_every_control_character_visibly(text: str, shown: str):
    assert terminal_safe(text) == shown


@pytest.mark.parametrize("text", ["shop.orders", "équipe-données", "日本語", "emoji 🟢", ""])
def test_terminal_safe_leaves_ordinary_text_alone(text: str):
    assert terminal_safe(text) is text
    assert control_problem(text) is None


def test_control_problem_names_the_first_character_and_where_it_is():
    assert control_problem("ops\x1b[31m") == "contains the control character \\x1b at position 4"
    assert control_problem("a\u202eb") == "contains the control character \\u202e at position 2"
