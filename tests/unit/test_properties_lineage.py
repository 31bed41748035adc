"""Property test (hypothesis): the OpenAPI document's LineageEvent accepts exactly the
OpenLineage bodies that `POST /api/v1/lineage` takes (found by the schemathesis run: the
document allowed any object, and `{}` got 400)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from typing import Any

import jsonschema_rs
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.core.lineage import EVENT_TYPES, LineageRefused, parse
from monitor.serve.http.openapi_schemas import schemas

EVENT = schemas()["LineageEvent"]
BODY = {"anyOf": [EVENT, {"type": "array", "items": EVENT}]}
VALID = jsonschema_rs.validator_for(BODY, validate_formats=True)

uuids = st.one_of(st.uuids().map(str), st.sampled_from(["", "not-a-uuid", "1234"]))
times = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.datetimes().map(lambda d: d.isoformat()),  # no offset: refused
    st.sampled_from(["", "yesterday", "2026-13-01T00:00:00Z"]),
)
names = st.one_of(st.just(""), st.text("abc./_", min_size=1, max_size=6))
types = st.one_of(
    st.none(),
    st.sampled_from(EVENT_TYPES),
    st.sampled_from(EVENT_TYPES).map(str.lower),
    st.sampled_from(["BOGUS", "", "start "]),
)
datasets = st.fixed_dictionaries({}, optional={"namespace": names, "name": names})
outputs = st.one_of(
    st.sampled_from([None, [], {}, "", 0, False, "x", 3]),
    st.lists(datasets, max_size=2),
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    keys = {
        "run": st.one_of(st.fixed_dictionaries({}, optional={"runId": uuids}), st.just("x")),
        "job": st.one_of(
            st.fixed_dictionaries({}, optional={"namespace": names, "name": names}),
            st.none(),
        ),
        "eventTime": times,
        "eventType": types,
        "outputs": outputs,
        "dataset": datasets,
        "producer": names,
    }
    event = draw(st.fixed_dictionaries({}, optional=keys))
    return draw(st.sampled_from([event, [event], [event, event], "text", 7, None]))


def accepted(doc: Any) -> bool:
    try:
        parse(json.dumps(doc).encode())
    except LineageRefused:
        return False
    return True


@given(events())
@example({})
@example([])
@example(
    {
        "eventType": "complete",
        "eventTime": "2026-11-24T10:00:00Z",
        "run": {"runId": str(uuid.UUID(int=1))},
        "job": {"namespace": "airflow", "name": "export"},
        "outputs": [{"namespace": "db", "name": "orders"}],
    }
)
@example({"dataset": {"namespace": "db", "name": "orders"}})
def test_the_document_takes_exactly_the_events_fresh_takes(doc: Any) -> None:
    assert VALID.is_valid(doc) is accepted(doc), doc
