"""Text that may reach a terminal: control characters refused in names, escaped in output.

A contract name, owner, warehouse error or file name can carry characters a terminal acts
on instead of printing: ESC starts a sequence that recolours, moves the cursor, rewrites the
title or hides text; BEL rings; NUL, CR and newline forge lines; C1 controls (U+0080 to U+009F)
act as ESC sequences on some terminals; bidirectional overrides (U+202E …) make text read in
another order than it is stored. `UNSAFE` is that set; `control_problem` is what
`validate` says about a name holding one, and `terminal_safe` is the one function every
output bound for a terminal (table report, validate/explain, text logs) goes through.
"""

from __future__ import annotations

import re

# C0 controls and DEL, C1 controls, and the Unicode format characters that reorder text:
# LRM/RLM, ALM, the embeddings and overrides (U+202A to U+202E), the isolates (U+2066 to U+2069)
# and the line/paragraph separators some terminals and editors break lines at.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """`text` with every unsafe character written as a visible escape (`\\x1b`, `\\u202e`,
    `\\n`), so it prints as one inert line. Returns `text` itself when nothing is unsafe."""
    if UNSAFE.search(text) is None:  # the common case: no copy
        return text
    return UNSAFE.sub(_escape, text)


def control_problem(text: str) -> str | None:
    """Why `text` cannot be a name (the first unsafe character, escaped), or None."""
    m = UNSAFE.search(text)
    if m is None:
        return None
    return f"contains the control character {_escape(m)!s} at position {m.start() + 1}"
