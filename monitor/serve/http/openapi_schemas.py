"""The response (and lineage request) objects of the OpenAPI document (openapi.py)."""

from __future__ import annotations

from typing import Any

from monitor.core.lineage import EVENT_TYPES

_TIME = {"type": "string", "format": "date-time"}
_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
_STATUS = {"type": "string", "enum": ["fresh", "warn", "stale", "error"]}


def schemas() -> dict[str, Any]:
    """The response objects: `fresh check --format json`'s, one result with history, a ping."""
    seconds = {"type": ["integer", "null"], "minimum": 0}
    text = {"type": ["string", "null"]}
    result: dict[str, Any] = {
        "type": "object",
        "description": "One result of `fresh check --format json`.",
        "properties": {
            "contract": {"type": "string"},
            "status": _STATUS,
            "owner": {"type": "string"},
            "severity": {"type": "string", "enum": ["info", "warning", "critical"]},
            "warehouse": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "metadata": {"type": "object"},
            "last_update": _MAYBE_TIME,
            "age_seconds": {"type": ["number", "null"]},
            "warn_after_seconds": seconds,
            "error_after_seconds": seconds,
            "deadline": _MAYBE_TIME,
            "error": text,
            "detail": text,
            "duration_seconds": {"type": "number", "minimum": 0},
        },
    }
    result["required"] = list(result["properties"])  # every field is always there
    # Only on `learn` contracts (SPEC 13), whose limits above are then the learned ones.
    result["properties"]["learned"] = {"type": "boolean", "const": True}
    history = {
        "type": "object",
        "required": ["checked_at", "status", "last_update", "error", "detail"],
        "properties": {
            "checked_at": _TIME,
            "status": _STATUS,
            "last_update": _MAYBE_TIME,
            "error": text,
            "detail": text,
        },
    }
    with_history = {
        **result,
        "required": [*result["required"], "checked_at", "history"],
        "properties": {
            **result["properties"],
            "checked_at": _TIME,
            "history": {"type": "array", "items": history},
        },
    }
    counts = {"type": "integer", "minimum": 0}
    return {
        "Result": result,
        "ResultWithHistory": with_history,
        "Report": {
            "type": "object",
            "required": ["checked_at", "summary", "results"],
            "properties": {
                "checked_at": _TIME,
                "summary": {
                    "type": "object",
                    "required": ["fresh", "warn", "stale", "error"],
                    "properties": {k: counts for k in ("fresh", "warn", "stale", "error")},
                    "additionalProperties": False,
                },
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
            },
        },
        "LineageEvent": _lineage_event(),
        "Ping": {
            "type": "object",
            "required": ["contract", "kind", "at", "exit_code"],
            "properties": {
                "contract": {"type": "string"},
                "kind": {"type": "string", "enum": ["success", "start", "fail", "log"]},
                "at": _TIME,
                "exit_code": {"type": ["integer", "null"]},
            },
        },
    }


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


def _lineage_event() -> dict[str, Any]:
    """What monitor/core/lineage.py takes: a RunEvent it can read, or any event without
    `run` that has `dataset` or `job` (DatasetEvent, JobEvent: answered and ignored)."""
    text = {"type": "string", "minLength": 1}
    falsy: dict[str, Any] = {"enum": [None, False, 0, "", {}, []]}  # `outputs` that counts as none
    dataset = {
        "type": "object",
        "required": ["namespace", "name"],
        "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}},
    }
    run_event = {
        "type": "object",
        "required": ["run", "job", "eventTime"],
        "properties": {
            "eventType": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "string",
                        "pattern": "^(" + "|".join(_any_case(t) for t in EVENT_TYPES) + ")$",
                    },
                ]
            },
            "eventTime": {"type": "string", "format": "date-time"},
            "run": {
                "type": "object",
                "required": ["runId"],
                "properties": {"runId": {"type": "string", "format": "uuid"}},
            },
            "job": {
                "type": "object",
                "required": ["namespace", "name"],
                "properties": {"namespace": text, "name": text},
            },
            "outputs": {"anyOf": [falsy, {"type": "array", "items": dataset}]},
        },
    }
    other = {
        "type": "object",
        "not": {"required": ["run"]},
        "anyOf": [{"required": ["dataset"]}, {"required": ["job"]}],
    }
    return {"anyOf": [run_event, other]}
