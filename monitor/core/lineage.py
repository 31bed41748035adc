"""OpenLineage events as fresh reads them (SPEC 12): parsing and validation, no I/O.

`POST /api/v1/lineage` takes one event or a JSON array of them, as the OpenLineage clients'
HTTP transport sends them. A RunEvent (it has `run`) needs a valid `eventTime` (ISO-8601
with an offset), `run.runId` (a UUID) and `job.namespace` + `job.name`, and an `eventType`
of START, RUNNING, COMPLETE, ABORT, FAIL or OTHER (missing counts as OTHER). DatasetEvents
and JobEvents carry no run: fresh answers them and ignores them. One bad event refuses the
whole request (`LineageRefused` names the field), so nothing of it is stored.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
ENDS = ("COMPLETE", "ABORT", "FAIL")  # a run that sent one of these is over
MAX_BODY = 1024 * 1024  # bytes, after decompression


class LineageRefused(ValueError):
    """A request fresh refuses with 400; the message names the field (and the event)."""


@dataclass(frozen=True)
class RunEvent:
    """What fresh keeps of one OpenLineage RunEvent."""

    event_type: str
    event_time: datetime
    run_id: str
    job_namespace: str
    job_name: str
    outputs: tuple[tuple[str, str], ...] = ()  # (namespace, name) of each output dataset


@dataclass(frozen=True)
class Parsed:
    """A request's events: the run events, and how many dataset/job events came along."""

    runs: tuple[RunEvent, ...]
    others: int


def parse(body: bytes) -> Parsed:
    """The events of one request body; LineageRefused for anything fresh cannot take."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LineageRefused(f"the body is not JSON ({exc})") from None
    except RecursionError:
        raise LineageRefused("the body is JSON nested too deeply") from None
    items = doc if isinstance(doc, list) else [doc]
    runs: list[RunEvent] = []
    others = 0
    for i, item in enumerate(items):
        where = f"event {i}: " if isinstance(doc, list) else ""
        kind = event_kind(item)
        if kind is None:
            raise LineageRefused(
                f"{where}not an OpenLineage event (an object with run, job or dataset)"
            )
        if kind == "run":
            runs.append(_run_event(item, where))
        else:
            others += 1
    return Parsed(tuple(runs), others)


def event_kind(item: Any) -> Literal["run", "dataset", "job"] | None:
    """run, dataset or job (by the keys the OpenLineage spec gives each), or None."""
    if not isinstance(item, dict):
        return None
    if "run" in item:
        return "run"
    if "dataset" in item:
        return "dataset"
    if "job" in item:
        return "job"
    return None


def _run_event(item: dict[str, Any], where: str) -> RunEvent:
    event_type = item.get("eventType")
    if event_type is None:
        event_type = "OTHER"
    if not isinstance(event_type, str) or event_type.upper() not in EVENT_TYPES:
        raise LineageRefused(
            f"{where}eventType: {event_type!r} is not one of {', '.join(EVENT_TYPES)}"
        )
    at = _time(item.get("eventTime"), where)
    run = item.get("run")
    run_id = run.get("runId") if isinstance(run, dict) else None
    try:
        run_id = str(uuid.UUID(str(run_id))) if isinstance(run_id, str) else None
    except ValueError:
        run_id = None
    if run_id is None:
        raise LineageRefused(f"{where}run.runId: a UUID is required")
    job = item.get("job")
    names = []
    for key in ("namespace", "name"):
        value = job.get(key) if isinstance(job, dict) else None
        if not isinstance(value, str) or not value:
            raise LineageRefused(f"{where}job.{key}: required (text)")
        names.append(value)
    return RunEvent(event_type.upper(), at, run_id, names[0], names[1], _outputs(item, where))


def _time(value: Any, where: str) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            return at.astimezone(UTC)
    raise LineageRefused(f"{where}eventTime: an ISO-8601 time with an offset is required")


def _outputs(item: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    outputs = item.get("outputs") or []
    if not isinstance(outputs, list):
        raise LineageRefused(f"{where}outputs: a list of datasets is expected")
    found = []
    for j, ds in enumerate(outputs):
        ns = ds.get("namespace") if isinstance(ds, dict) else None
        name = ds.get("name") if isinstance(ds, dict) else None
        if not isinstance(ns, str) or not isinstance(name, str):
            raise LineageRefused(f"{where}outputs[{j}]: namespace and name are required")
        found.append((ns, name))
    return tuple(dict.fromkeys(found))
