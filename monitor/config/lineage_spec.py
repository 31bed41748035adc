"""`openlineage: {namespace, job}` / `{namespace, dataset}` in a contract (SPEC 12), validated
without connecting (the checks parser calls `read_openlineage` for that key)."""

from __future__ import annotations

from monitor.config.fields import Reader, unknown_keys
from monitor.config.yamlpos import YMap
from monitor.core.models import OpenLineageSource

KEYS = ("namespace", "job", "dataset")


def read_openlineage(r: Reader) -> OpenLineageSource | None:
    """The source of an `openlineage:` contract, or None with the problems recorded on `r`."""
    m = r.c["openlineage"]
    if not isinstance(m, YMap):
        r.error(
            r.pos("openlineage"),
            "openlineage: expected a mapping: {namespace: NS, job: NAME} or "
            "{namespace: NS, dataset: NAME}",
        )
        return None
    if unknown_keys(r.path, m, KEYS, r.out, " in openlineage"):
        r.ok = False
    values: dict[str, str] = {}
    for key in KEYS:
        value = m.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value):
            r.error(m.val_pos(key), f"openlineage.{key}: expected text")
            continue
        values[key] = str(value)
    if "namespace" not in values:
        r.error(m.pos, "openlineage: missing namespace (the job's or dataset's namespace)")
    if ("job" in values) == ("dataset" in values):
        r.error(m.pos, "openlineage: give exactly one of job or dataset")
    if not r.ok or "namespace" not in values:
        return None
    return OpenLineageSource(values["namespace"], values.get("job"), values.get("dataset"))
