"""The human and CI formats: table, JUnit XML, GitHub annotations, markdown."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from monitor.core.models import Status
from monitor.report.render import render
from monitor.report.results import Result
from tests.unit.report_fixtures import NOW, contract, sample, verdict

# --- table --------------------------------------------------------------------------------


def test_the_table_lists_worst_first_with_a_summary_line() -> None:
    text = render("table", sample(), NOW)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["STATUS", "CONTRACT", "OWNER"]
    assert [line.split()[0] for line in lines[1:5]] == ["error", "stale", "warn", "fresh"]
    assert lines[-1] == (
        "4 contracts: 1 fresh, 1 warn, 1 stale, 1 error (checked at 2026-11-24T10:00:00Z)"
    )


def test_the_table_shows_age_limits_and_the_error() -> None:
    text = render("table", sample(), NOW)
    stale = next(line for line in text.splitlines() if line.startswith("stale"))
    assert "raw_shopify.orders" in stale and "1h" in stale and "20m / 1h" in stale
    error = next(line for line in text.splitlines() if line.startswith("error"))
    assert "no data" in error and 'relation "ops.exports" does not exist' in error


def test_the_table_is_plain_unless_asked_for_colour() -> None:
    assert "\x1b[" not in render("table", sample(), NOW)
    assert "\x1b[31mstale\x1b[0m" in render("table", sample(), NOW, color=True)


def test_the_table_has_no_trailing_spaces_and_aligned_columns() -> None:
    lines = render("table", sample(), NOW).splitlines()
    assert all(line == line.rstrip() for line in lines)
    col = lines[0].index("CONTRACT")
    assert all(line[col - 2 : col] == "  " and line[col] != " " for line in lines[1:5])


def test_an_empty_table_says_so() -> None:
    assert render("table", [], NOW).startswith("No contracts to check.")


# --- junit --------------------------------------------------------------------------------


def _junit(results: list[Result], fail_on: str = "stale") -> ET.Element:
    return ET.fromstring(render("junit", results, NOW, fail_on).encode())


def test_junit_has_one_suite_with_a_testcase_per_contract() -> None:
    root = _junit(sample())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.attrib["tests"] == "4"
    assert suite.attrib["failures"] == "1"
    assert suite.attrib["errors"] == "1"
    assert suite.attrib["skipped"] == "0"
    cases = suite.findall("testcase")
    assert [c.attrib["name"] for c in cases] == [
        "shop.customers", "raw_shopify.orders", "finance.invoices", "ops.exports",
    ]  # fmt: skip
    assert cases[2].attrib["classname"] == "finance-analytics"


def test_junit_marks_stale_as_failure_and_error_as_error() -> None:
    cases = {c.attrib["name"]: c for c in _junit(sample()).iter("testcase")}
    failure = cases["raw_shopify.orders"].find("failure")
    assert failure is not None and failure.attrib["type"] == "stale"
    assert "raw_shopify.orders is stale" in failure.attrib["message"]
    assert "runbook: https://wiki.example.com/orders" in (failure.text or "")
    error = cases["ops.exports"].find("error")
    assert error is not None and "does not exist" in error.attrib["message"]
    for name in ("shop.customers", "finance.invoices"):
        assert cases[name].find("failure") is None and cases[name].find("error") is None
    assert not list(_junit(sample()).iter("skipped"))


def test_junit_fails_warn_under_fail_on_warn() -> None:
    cases = {c.attrib["name"]: c for c in _junit(sample(), "warn").iter("testcase")}
    assert cases["finance.invoices"].find("failure") is not None


def test_junit_escapes_markup_and_drops_control_characters() -> None:
    bad = 'syntax error near "<" & \x00\x1b[0m ]]> done'
    r = Result(contract("a<b>&c"), verdict("a<b>&c", Status.ERROR, age=None, error=bad))
    root = _junit([r])
    case = next(root.iter("testcase"))
    assert case.attrib["name"] == "a<b>&c"
    err = case.find("error")
    assert err is not None
    assert '"<" &' in err.attrib["message"] and "\x00" not in err.attrib["message"]


# --- github -------------------------------------------------------------------------------


def _commands(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("::")]


def test_github_annotates_stale_and_error_as_errors_and_warn_as_warning() -> None:
    lines = _commands(render("github", sample(), NOW))
    assert len(lines) == 3  # nothing for the fresh one
    assert lines[0].startswith("::error file=checks/shop.yml,line=30,col=5,title=ops.exports is")
    assert lines[1].startswith("::error file=checks/shop.yml,line=10,col=5,")
    assert "title=raw_shopify.orders is stale (owner ops-data-team)::" in lines[1]
    assert lines[2].startswith("::warning file=checks/shop.yml,line=20,")


def test_github_escapes_newlines_percent_and_property_separators() -> None:
    r = Result(
        contract("a,b:c"),
        verdict("a,b:c", Status.ERROR, age=None, error="100% broken\nsecond line"),
    )
    (line,) = _commands(render("github", [r], NOW))
    assert "title=a%2Cb%3Ac is error" in line
    assert line.endswith("::100%25 broken second line")


def test_github_turns_warn_into_an_error_under_fail_on_warn() -> None:
    lines = _commands(render("github", sample(), NOW, "warn"))
    assert all(line.startswith("::error ") for line in lines)


def test_github_output_keeps_the_table_for_the_log() -> None:
    assert "STATUS" in render("github", sample(), NOW)


# --- markdown -----------------------------------------------------------------------------


def test_markdown_has_counts_a_problem_table_and_folded_fresh_ones() -> None:
    text = render("markdown", sample(), NOW)
    assert text.startswith("### fresh check: ")
    assert "1 stale" in text.splitlines()[0]
    assert "| Status | Contract |" in text
    problems = text.split("<details>")[0]
    assert "`raw_shopify.orders`" in problems and "`shop.customers`" not in problems
    assert "<summary>1 fresh contract</summary>" in text


def test_markdown_escapes_pipes_in_cells() -> None:
    r = Result(contract("a"), verdict("a", Status.ERROR, age=None, error="x | y <b>"))
    text = render("markdown", [r], NOW)
    assert "x \\| y &lt;b&gt;" in text


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "github", "markdown"])
def test_every_format_renders_1000_contracts(fmt: str) -> None:
    results = [
        Result(contract(f"t{i}"), verdict(f"t{i}", Status.FRESH, age=timedelta(seconds=i)))
        for i in range(1000)
    ]
    assert render(fmt, results, NOW).count("t999") >= 1


def test_markdown_says_all_fresh_when_nothing_is_wrong() -> None:
    assert "All contracts are fresh." in render("markdown", sample()[:1], NOW)
