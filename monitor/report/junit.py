"""`--format junit`: one testsuite, one testcase per contract, as GitLab and Jenkins read it.

A stale contract (and a warn one under `--fail-on warn`) is a `<failure>`, an unreadable
source an `<error>`; nothing is skipped. ElementTree escapes text and attributes; characters
XML 1.0 cannot hold at all (NUL, most control characters) are dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from datetime import datetime

from monitor.core.models import Status
from monitor.report.results import (
    Result,
    age_text,
    iso_z,
    limits_text,
    note_text,
    summarize,
    value_text,
)

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("", text)


def render_junit(
    results: Sequence[Result], checked_at: datetime, failing: Collection[Status]
) -> str:
    """A JUnit XML document (UTF-8, with its declaration)."""
    failures = sum(
        1 for r in results if r.verdict.status in failing and r.verdict.status is not Status.ERROR
    )
    errors = sum(1 for r in results if r.verdict.status is Status.ERROR)
    total_time = sum(r.verdict.duration_seconds for r in results)
    counts = {
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": "0",
        "time": f"{total_time:.6f}",
    }
    root = ET.Element("testsuites", {"name": "fresh", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": "fresh check", "timestamp": iso_z(checked_at) or "", **counts},
    )
    summary = ", ".join(f"{n} {s}" for s, n in summarize(r.verdict for r in results).items())
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="summary", value=summary)

    for r in results:
        c, v = r.contract, r.verdict
        case = ET.SubElement(
            suite,
            "testcase",
            name=_clean(c.name),
            classname=_clean(c.owner),
            time=f"{v.duration_seconds:.6f}",
        )
        if c.location is not None:
            case.set("file", _clean(c.location.path))
            case.set("line", str(c.location.line))
        message = _clean(f"{c.name} is {v.status.value}: {note_text(v)}")
        body = _clean(_body(r))
        if v.status is Status.ERROR:
            el = ET.SubElement(case, "error", message=message, type="error")
            el.text = body
        elif v.status in failing:
            el = ET.SubElement(case, "failure", message=message, type=v.status.value)
            el.text = body
        else:
            out = ET.SubElement(case, "system-out")
            out.text = body
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"


def _body(r: Result) -> str:
    c, v = r.contract, r.verdict
    lines = [
        f"status: {v.status.value}",
        f"owner: {c.owner}",
        f"severity: {c.severity.value}",
        f"warehouse: {c.warehouse}",
        f"last update: {iso_z(v.last_update) or 'never'} ({age_text(v)})",
        f"warn / error after: {limits_text(c)}",
        f"deadline: {iso_z(v.deadline) or '-'}",
    ]
    if c.tags:
        lines.append(f"tags: {', '.join(c.tags)}")
    for key, value in c.metadata.items():
        lines.append(f"{key}: {value_text(value)}")
    if v.error:
        lines.append(f"error: {v.error}")
    if v.detail:
        lines.append(f"detail: {v.detail}")
    if c.location is not None:
        lines.append(f"declared at: {c.location}")
    return "\n".join(lines)
