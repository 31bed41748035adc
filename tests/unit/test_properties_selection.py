"""Property tests (hypothesis) for `--select` forms (and the API's `select=`): a name glob,
`name:`/`contract:` globs, `owner:X`, `tag:X`, `warehouse:X`; several selectors: any may match."""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config.selection import select, validate_selector
from monitor.core.errors import UsageError
from monitor.core.models import Contract, Expectation, TableSource
from monitor.serve.http.openapi import document

words = st.text("abc_.0", min_size=1, max_size=4)


@st.composite
def contracts(draw: st.DrawFn) -> tuple[Contract, ...]:
    names = draw(st.lists(words, min_size=0, max_size=8, unique=True))
    return tuple(
        Contract(
            name=name,
            owner=draw(words),
            warehouse=draw(words),
            source=TableSource("t", "c"),
            expectation=Expectation(error_after=timedelta(hours=1)),
            tags=tuple(draw(st.lists(words, max_size=3))),
        )
        for name in names
    )


literal = st.tuples(
    st.sampled_from(["", "name:", "contract:", "owner:", "tag:", "warehouse:"]), words
)
globbed = st.tuples(
    st.sampled_from(["", "name:", "owner:", "tag:", "warehouse:"]),
    st.text("abc_.0*?[]!", min_size=1, max_size=5),
)


def field_values(c: Contract, prefix: str) -> tuple[str, ...]:
    return {
        "": (c.name,),
        "name:": (c.name,),
        "contract:": (c.name,),
        "owner:": (c.owner,),
        "tag:": c.tags,
        "warehouse:": (c.warehouse,),
    }[prefix]


@given(contracts(), literal)
def test_a_literal_selector_picks_exactly_the_contracts_with_that_value(
    cs: tuple[Contract, ...], sel: tuple[str, str]
) -> None:
    prefix, value = sel
    chosen = select(cs, [prefix + value])
    assert chosen == tuple(c for c in cs if value in field_values(c, prefix))


@given(contracts(), st.lists(st.one_of(literal, globbed), max_size=4))
def test_several_selectors_pick_the_union_in_declaration_order(
    cs: tuple[Contract, ...], sels: list[tuple[str, str]]
) -> None:
    texts = [p + v for p, v in sels]
    chosen = select(cs, texts)
    if not texts:
        assert chosen == cs
        return
    each = [set(c.name for c in select(cs, [t])) for t in texts]
    assert chosen == tuple(c for c in cs if any(c.name in s for s in each))
    assert select(cs, texts + texts) == chosen  # repeating a selector changes nothing


@given(contracts(), st.sampled_from(["*", "name:*", "contract:*"]))
def test_a_star_picks_every_contract(cs: tuple[Contract, ...], star: str) -> None:
    assert select(cs, [star]) == cs


@given(st.text(max_size=20))
def test_any_text_is_a_selector_or_a_usage_error_naming_it(text: str) -> None:
    try:
        validate_selector(text)
    except UsageError as exc:
        key = text.partition(":")[0]
        assert repr(key) in str(exc) and "owner:" in str(exc)
        assert re.match(r"[A-Za-z_][A-Za-z0-9_]*:", text) and ":" in text


@given(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), words)
def test_an_unknown_key_is_refused_rather_than_selecting_nothing(key: str, value: str) -> None:
    if key in ("owner", "tag", "warehouse", "name", "contract"):
        return
    with pytest.raises(UsageError, match=repr(key)):
        select((), [f"{key}:{value}"])


@given(st.text(max_size=12), st.text(max_size=12))
def test_the_api_document_describes_exactly_the_selectors_fresh_accepts(
    head: str, tail: str
) -> None:
    """`select=` items in /api/v1/openapi.json: valid there iff valid here (found by the
    schemathesis run: `ab:c` was allowed by the document and refused with 400)."""
    param = document()["paths"]["/api/v1/contracts"]["get"]["parameters"][0]
    validator = jsonschema_rs.validator_for(param["schema"]["items"])
    for text in (head, f"{head}:{tail}", f"ab{head}:{tail}", f"owner:{tail}", f"ownr:{tail}"):
        try:
            validate_selector(text)
            accepted = True
        except UsageError:
            accepted = False
        assert validator.is_valid(text) is accepted, text
