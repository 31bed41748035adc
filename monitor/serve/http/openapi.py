"""The OpenAPI 3.1 document of `fresh serve`'s HTTP API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.config.selection import KEY_PREFIX, KNOWN_PREFIX
from monitor.serve.http.openapi_schemas import schemas
from monitor.serve.metrics import CONTENT_TYPE
from monitor.sources.heartbeat.pings import EXIT_CODE_RANGE, MAX_DURATION

_ERROR = {"$ref": "#/components/schemas/Error"}
_OPEN: list[dict[str, list[str]]] = []  # no credentials, even with server.auth set


def _errors(*codes: int) -> dict[str, Any]:
    why = {
        400: "Bad input (a parameter or selector)",
        401: "Missing or wrong credentials",
        404: "No such contract (or not checked yet)",
        409: "The contract is not a heartbeat contract",
        413: "Body too large (a ping's output tail: 10 kB; lineage events: 1 MB)",
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
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Ping"}}
                    },
                },
                **_errors(400, 401, 404, 409, 413),
            },
        }
    }


def _lineage() -> dict[str, Any]:
    counts = {
        "type": "object",
        "required": ["stored", "ignored"],
        "properties": {
            "stored": {"type": "integer", "minimum": 0},
            "ignored": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    }
    return {
        "post": {
            "summary": "OpenLineage events (one RunEvent, DatasetEvent or JobEvent, or an array)",
            "operationId": "postLineage",
            "security": [{"pingToken": []}, {}],
            "requestBody": {
                "required": True,
                "description": "OpenLineage JSON as the clients' HTTP transport sends it "
                "(Content-Encoding: gzip accepted; at most 1 MB decompressed).",
                "content": {
                    "application/json": {
                        "schema": {
                            "anyOf": [
                                {"$ref": "#/components/schemas/LineageEvent"},
                                {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/LineageEvent"},
                                },
                            ]
                        }
                    }
                },
            },
            "responses": {
                "200": _json("Dataset or job events only (or none): ignored", counts),
                "201": _json("Run events of watched jobs or datasets stored", counts),
                "202": _json("Accepted, but nothing watches these runs: not stored", counts),
                **_errors(400, 401, 413),
            },
        }
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
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
                            "schema": {
                                "type": "array",
                                "items": {
                                    "type": "string",
                                    "anyOf": [
                                        {"pattern": KNOWN_PREFIX},
                                        {"not": {"pattern": KEY_PREFIX}},
                                    ],
                                },
                            },
                            "style": "form",
                            "explode": True,
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "checked_at, summary, results",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Report"}
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
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ResultWithHistory"}
                                }
                            },
                        },
                        **_errors(400, 401, 404),
                    },
                }
            },
            "/api/v1/ping/{name}": _ping("success", "A run of the job succeeded"),
            "/api/v1/ping/{name}/start": _ping("start", "A run of the job started"),
            "/api/v1/ping/{name}/fail": _ping("fail", "A run of the job failed"),
            "/api/v1/ping/{name}/log": _ping("log", "Output of a run, without a verdict"),
            "/api/v1/lineage": _lineage(),
            **_other_paths(),
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
                **schemas(),
                "Error": {
                    "type": "object",
                    "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                },
            },
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic"},
                "pingToken": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"basicAuth": []}, {}],
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _filter(name: str, description: str, values: list[str] | None = None) -> dict[str, Any]:
    items: dict[str, Any] = {"type": "string"}
    if values:
        items["enum"] = values
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "array", "items": items},
        "style": "form",
        "explode": True,
    }


def _other_paths() -> dict[str, Any]:
    """The endpoints beside the JSON API: pages, metrics, health, this document."""
    return {
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": _json("OpenAPI 3.1", {"type": "object"}), **_errors(401)},
            }
        },
        "/": {
            "get": {
                "summary": "The status page: every contract, worst first",
                "operationId": "statusPage",
                "parameters": [
                    _filter("owner", "Only these owners"),
                    _filter("tag", "Only contracts with one of these tags"),
                    _filter("status", "Only these statuses (others are ignored)"),
                ],
                "responses": {"200": _html("The page"), **_errors(401)},
            }
        },
        "/contracts/{name}": {
            "get": {
                "summary": "One contract's page: verdict, history, the read, recent alerts",
                "operationId": "contractPage",
                "parameters": [{"$ref": "#/components/parameters/Name"}],
                "responses": {
                    "200": _html("The page"),
                    "404": _html("No such contract"),
                    **_errors(401),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text format)",
                "operationId": "metrics",
                "security": _OPEN,
                "responses": {
                    "200": {
                        "description": "Prometheus text exposition",
                        "content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Alive",
                "operationId": "healthz",
                "security": _OPEN,
                "responses": {
                    "200": _json(
                        "The process runs",
                        {
                            "type": "object",
                            "required": ["status"],
                            "properties": {"status": {"const": "ok"}},
                        },
                    )
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Ready: configuration loaded and state store reachable",
                "operationId": "readyz",
                "security": _OPEN,
                "responses": {
                    "200": _json(
                        "Ready",
                        {
                            "type": "object",
                            "required": ["status", "contracts"],
                            "properties": {
                                "status": {"const": "ready"},
                                "contracts": {"type": "integer", "minimum": 0},
                            },
                        },
                    ),
                    **_errors(503),
                },
            }
        },
    }
