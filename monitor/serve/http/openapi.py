"""The OpenAPI 3.1 document of `fresh serve`'s HTTP API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.sources.heartbeat.pings import EXIT_CODE_RANGE, MAX_DURATION

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict[str, Any]:
    why = {
        400: "Bad input (a parameter or selector)",
        401: "Missing or wrong credentials",
        404: "No such contract (or not checked yet)",
        409: "The contract is not a heartbeat contract",
        413: "Output tail larger than 10 kB",
        503: "Not ready",
    }
    return {
        str(c): {"description": why[c], "content": {"application/json": {"schema": _ERROR}}}
        for c in codes
    }


def _ping(kind: str, summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "operationId": f"ping{kind.capitalize()}",
            "security": [{"pingToken": []}, {}],
            "parameters": [
                {"$ref": "#/components/parameters/Name"},
                {
                    "name": "exit_code",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": EXIT_CODE_RANGE[0],
                        "maximum": EXIT_CODE_RANGE[1],
                    },
                },
                {
                    "name": "duration",
                    "in": "query",
                    "schema": {"type": "number", "minimum": 0, "maximum": MAX_DURATION},
                },
            ],
            "requestBody": {
                "required": False,
                "description": "The job's output tail (at most 10 kB).",
                "content": {"text/plain": {"schema": {"type": "string", "maxLength": 10240}}},
            },
            "responses": {
                "200": {
                    "description": "Recorded",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_errors(400, 401, 404, 409, 413),
            },
        }
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    result = {"type": "object", "description": "One result of `fresh check --format json`."}
    return {
        "openapi": "3.1.0",
        "info": {"title": "fresh", "version": __version__},
        "paths": {
            "/api/v1/contracts": {
                "get": {
                    "summary": "Every contract's latest verdict (fresh check's JSON object)",
                    "operationId": "listContracts",
                    "parameters": [
                        {
                            "name": "select",
                            "in": "query",
                            "description": "Name glob, owner:X, tag:X or warehouse:X",
                            "schema": {"type": "array", "items": {"type": "string"}},
                            "style": "form",
                            "explode": True,
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "checked_at, summary, results",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["checked_at", "summary", "results"],
                                        "properties": {
                                            "checked_at": {"type": "string"},
                                            "summary": {"type": "object"},
                                            "results": {"type": "array", "items": result},
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(400, 401),
                    },
                }
            },
            "/api/v1/contracts/{name}": {
                "get": {
                    "summary": "One contract's latest verdict plus its history, newest first",
                    "operationId": "getContract",
                    "parameters": [
                        {"$ref": "#/components/parameters/Name"},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The result with `history`",
                            "content": {"application/json": {"schema": result}},
                        },
                        **_errors(400, 401, 404),
                    },
                }
            },
            "/api/v1/ping/{name}": _ping("success", "A run of the job succeeded"),
            "/api/v1/ping/{name}/start": _ping("start", "A run of the job started"),
            "/api/v1/ping/{name}/fail": _ping("fail", "A run of the job failed"),
        },
        "components": {
            "parameters": {
                "Name": {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                }
            },
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic"},
                "pingToken": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"basicAuth": []}, {}],
    }
