"""dbt's artifacts read as dbt users mean them: `run_results.json` and `sources.json`.

Public projects commit archives of these files, and reading them naively goes wrong:
- every dbt command writes `run_results.json`, `docs generate`, `compile`, `ls`, `parse` and
  `show` included, and those report `success` for nodes they never built; such a file is no
  run (`args.which`, or `rpc_method` in older files, says which command wrote it);
- a bare `job` name (`orders`) must not pick up a test's or unit test's result: it matches
  models, seeds and snapshots only; tests are named by their full `unique_id`;
- files written before dbt 0.19 keep the id under `results[].node.unique_id` and spell the
  status `SUCCESS 1`, `CREATE TABLE (8)`, `ERROR`, or `skip: true`;
- `sources.json` (`dbt source freshness`) says when the *data* last loaded (`max_loaded_at`),
  which is the last update; when dbt ran the check (`snapshotted_at`) is not.

`parse` turns one file into an `Artifact`; `runs_of` and `loads_of` pick one job's entries.
The file parse is pure (bytes in, values out) so tests and the import of section 11 share it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from monitor.sources.timestamps import TimestampError, to_utc

# Commands whose run_results.json reports nodes they did not build (args.which values;
# `ls` is spelt `list` there, `docs generate` is `generate`).
NO_RUN_COMMANDS = frozenset({"generate", "compile", "list", "ls", "parse", "show", "docs"})
# A bare job name matches these node types only (SPEC 11).
NAMED_TYPES = ("model", "seed", "snapshot")


class ArtifactError(ValueError):
    """A file that is not a dbt artifact fresh can read (message names what is wrong).

    `line` is set for a JSON syntax error, so callers can say `path:line: message`.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line

    def at(self, path: str) -> str:
        """The message prefixed with `path` (and `:line` when known)."""
        return f"{path}:{self.line}: {self}" if self.line else f"{path}: {self}"


@dataclass(frozen=True)
class NodeRun:
    """One node's result in one invocation: status in dbt >= 0.19 words, time it ended."""

    unique_id: str
    status: str
    at: datetime | None


@dataclass(frozen=True)
class SourceLoad:
    """One source's line of sources.json: newest data, when dbt looked, dbt's own verdict."""

    unique_id: str
    max_loaded_at: datetime | None
    snapshotted_at: datetime | None
    status: str


@dataclass(frozen=True)
class Artifact:
    """One parsed file. `command` is what wrote it (None when the file does not say)."""

    kind: Literal["run_results", "sources"]
    command: str | None
    generated_at: datetime | None
    runs: tuple[NodeRun, ...] = ()
    loads: tuple[SourceLoad, ...] = ()

    @property
    def is_run(self) -> bool:
        """False for files of commands that build nothing (docs generate, compile, ...)."""
        return self.kind == "run_results" and self.command not in NO_RUN_COMMANDS


def parse(data: bytes | str) -> Artifact:
    """One run_results.json (any format since dbt 0.17) or sources.json; ArtifactError."""
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"not valid JSON ({exc.msg})", exc.lineno) from None
    except UnicodeDecodeError:
        raise ArtifactError("not UTF-8 text") from None
    except RecursionError:
        raise ArtifactError("JSON nested too deeply") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ArtifactError("not a dbt run_results.json (no 'results' list)")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    # Pre-0.19 files have generated_at at the top level.
    generated_at = _time(meta.get("generated_at", doc.get("generated_at")), "generated_at")
    schema = str(meta.get("dbt_schema_version") or "")
    results: list[Any] = doc["results"]
    if "/sources/" in schema or any(isinstance(r, dict) and "max_loaded_at" in r for r in results):
        return Artifact("sources", "source", generated_at, loads=_loads(results, generated_at))
    return Artifact("run_results", _command(doc), generated_at, runs=_runs(results))


def _command(doc: dict[str, Any]) -> str | None:
    args = doc.get("args")
    if isinstance(args, dict):
        for key in ("which", "rpc_method"):
            if isinstance(args.get(key), str):
                return str(args[key])
    return None


def _runs(results: list[Any]) -> tuple[NodeRun, ...]:
    out = []
    for i, item in enumerate(results):
        if not isinstance(item, dict):
            raise ArtifactError(f"results[{i}] is not an object")
        node = item.get("node")
        if isinstance(item.get("unique_id"), str):
            out.append(NodeRun(item["unique_id"], str(item.get("status")), _completed_at(item)))
        elif isinstance(node, dict) and isinstance(node.get("unique_id"), str):
            out.append(NodeRun(node["unique_id"], _old_status(item, node), _completed_at(item)))
        else:
            raise ArtifactError(f"results[{i}] has no unique_id")
    return tuple(out)


def _old_status(item: dict[str, Any], node: dict[str, Any]) -> str:
    """A pre-0.19 result's status in today's words (success, error, skipped, pass, fail)."""
    if item.get("skip"):
        return "skipped"
    raw = item.get("status")
    if item.get("error") or (isinstance(raw, str) and raw.upper().startswith("ERROR")):
        return "error"
    is_test = node.get("resource_type") == "test" or str(node["unique_id"]).startswith("test.")
    if is_test:  # old tests put the number of failing rows in `status`
        return "fail" if item.get("fail") or (isinstance(raw, int) and raw > 0) else "pass"
    if raw is None:
        return "skipped"
    return "success"  # SUCCESS 1, CREATE TABLE (8), INSERT 0 3, OK ...


def _completed_at(item: dict[str, Any]) -> datetime | None:
    timing = item.get("timing")
    if not isinstance(timing, list):
        return None
    for step in timing:
        if isinstance(step, dict) and step.get("name") == "execute":
            return _time(step.get("completed_at"), "timing completed_at")
    return None


def _loads(results: list[Any], generated_at: datetime | None) -> tuple[SourceLoad, ...]:
    # A `runtime error` line has no times: dbt looked when it wrote the file.
    out = []
    for i, item in enumerate(results):
        if not isinstance(item, dict) or not isinstance(item.get("unique_id"), str):
            raise ArtifactError(f"results[{i}] has no unique_id")
        out.append(
            SourceLoad(
                item["unique_id"],
                _time(item.get("max_loaded_at"), "max_loaded_at"),
                _time(item.get("snapshotted_at"), "snapshotted_at") or generated_at,
                str(item.get("status")),
            )
        )
    return tuple(out)


def _time(value: object, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        at = to_utc(value, tz="UTC")  # dbt writes UTC, with or without the Z
    except TimestampError as exc:
        raise ArtifactError(f"{key}: {exc}") from None
    return at.astimezone(UTC) if at is not None else None


def node_name(unique_id: str) -> str | None:
    """`orders` for `model.shop.orders` (the third part), None for a shorter id."""
    parts = unique_id.split(".")
    return parts[2] if len(parts) >= 3 else None


def runs_of(artifact: Artifact, job: str) -> list[NodeRun]:
    """The results of `job` in one run file: by unique_id, else a model/seed/snapshot name."""
    if not artifact.is_run:
        return []
    exact = [r for r in artifact.runs if r.unique_id == job]
    if exact:
        return exact
    return [
        r
        for r in artifact.runs
        if r.unique_id.split(".", 1)[0] in NAMED_TYPES and node_name(r.unique_id) == job
    ]


def loads_of(artifact: Artifact, job: str) -> list[SourceLoad]:
    """The lines of `job` in a sources.json: by unique_id or `SOURCE.TABLE`."""
    if artifact.kind != "sources":
        return []
    return [
        load
        for load in artifact.loads
        if load.unique_id == job or ".".join(load.unique_id.split(".")[2:]) == job
    ]


def newest_load(
    loads: Iterable[SourceLoad], as_of: datetime | None = None
) -> tuple[SourceLoad | None, SourceLoad | None]:
    """(the load with the newest max_loaded_at, the newest check dbt made), both by `as_of`.

    A check dbt took after `as_of` is not seen at all: what dbt knew then is what counts.
    """
    seen = [ld for ld in loads if _by(ld.snapshotted_at, as_of, missing=True)]
    timed = [
        (ld.max_loaded_at, ld)
        for ld in seen
        if ld.max_loaded_at is not None and _by(ld.max_loaded_at, as_of)
    ]
    newest = max(timed, key=lambda pair: pair[0], default=(None, None))[1]
    checked = [(ld.snapshotted_at or _EPOCH, ld) for ld in seen]
    latest = max(checked, key=lambda pair: pair[0], default=(None, None))[1]
    return newest, latest


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _by(at: datetime | None, as_of: datetime | None, missing: bool = False) -> bool:
    """True when `at` happened by `as_of` (always without `as_of`; `missing` for no time)."""
    if at is None:
        return missing
    return as_of is None or at <= as_of
