"""The source part of a contract in checks/*.yml: which of table / query / files / run_log /
heartbeat / delta it reads, validated without connecting (contracts.py holds the rest of a contract,
fields.py the reader both use)."""

from __future__ import annotations

from typing import Any

from monitor.config import sqlguard
from monitor.config.fields import SOURCES, Reader, Warehouses, guard, unknown_keys
from monitor.config.values import did_you_mean
from monitor.config.yamlpos import YMap
from monitor.core.models import (
    DeltaSource,
    FilesSource,
    HeartbeatSource,
    IcebergSource,
    QuerySource,
    RunLogSource,
    Source,
    TableSource,
)

RUN_LOG_KEYS = (
    "table",
    "file",
    "preset",
    "job",
    "job_column",
    "status_column",
    "success",
    "failure",
    "time_column",
)
PRESETS: dict[str, dict[str, Any]] = {
    "airflow": {
        "table": "dag_run",
        "job_column": "dag_id",
        "status_column": "state",
        "success": ("success",),
        "failure": ("failed",),
        "time_column": "end_date",
    },
    "dbt": {
        "file": "target/run_results.json",
        "success": ("success", "pass"),
        "failure": ("error", "fail", "runtime error"),
    },
}
# Schemes whose databases tell when a table last changed (SPEC 3: `table` alone).
METADATA_SCHEMES = ("mysql", "mariadb", "snowflake", "bigquery")


def read_source(r: Reader, wh: Warehouses, warehouse: str | None) -> Source | None:
    """The one source of a contract (table, query, files, run_log, heartbeat, delta…), or None
    with the problems recorded on `r`."""
    found = [k for k in SOURCES if k in r.c]
    if len(found) != 1:
        if found:
            msg = f"exactly one source is allowed, found {len(found)}: {', '.join(found)}"
            r.error(r.c.key_pos(found[1]), msg)
        else:
            r.error(r.c.pos, f"no source: give one of {', '.join(SOURCES)}")
        return None
    kind = found[0]
    for key, allowed_in in (
        ("column", ("table", "files")),
        ("where", ("table",)),
        ("column_format", ("table", "files")),
    ):
        if key in r.c and kind not in allowed_in:
            r.error(
                r.c.key_pos(key),
                f"{key}: not used with {kind} (only with {' or '.join(allowed_in)})",
            )
    if "catalog" in r.c and kind != "iceberg":
        r.error(r.c.key_pos("catalog"), f"catalog: not used with {kind} (only with iceberg)")
    url = wh.urls.get(warehouse) if warehouse else None
    dialect = sqlguard.dialect_for_url(url) if url else ""

    column = r.text("column") if kind in ("table", "files") else None
    # A warehouse table's names may be "double quoted" (stored in mixed case); a file's
    # column is always read by its exact name.
    quotable = kind == "table"
    guard(
        r,
        "column",
        lambda v: sqlguard.validate_identifier(v, dotted=False, quoted_ok=quotable),
        column,
    )
    fmt = r.text("column_format") if kind in ("table", "files") else None
    if fmt is not None and fmt not in ("epoch_s", "epoch_ms"):
        r.error(
            r.pos("column_format"),
            f"column_format: {fmt!r} is not epoch_s or epoch_ms"
            f"{did_you_mean(fmt, ('epoch_s', 'epoch_ms'))}",
        )
    elif fmt is not None and column is None:
        r.error(r.pos("column_format"), "column_format: needs a column")

    if kind == "table":
        table = r.text("table")
        guard(r, "table", lambda v: sqlguard.validate_identifier(v, quoted_ok=True), table)
        where = r.text("where")
        if where is not None:
            guard(r, "where", lambda v: sqlguard.check_where(v, dialect), where)
        if column is None and url is not None:
            scheme = sqlguard.url_scheme(url)
            if scheme not in METADATA_SCHEMES:
                r.error(
                    r.c.key_pos("table"),
                    f"table: {scheme} keeps no last-modified time for tables: add "
                    "`column:` (the column whose newest value is the last update)",
                )
            elif where is not None:
                r.error(r.pos("where"), "where: needs a column (metadata reads ignore it)")
        if table is None or not r.ok:
            return None
        return TableSource(table=table, column=column, where=where, column_format=fmt)  # type: ignore[arg-type]
    if kind == "query":
        sql = r.text("query")
        guard(r, "query", lambda v: sqlguard.check_readonly_query(v, dialect), sql)
        return QuerySource(sql=sql) if sql is not None and r.ok else None
    if kind == "files":
        glob = r.text("files")
        if glob is not None and not glob.strip():
            r.error(r.pos("files"), "files: must be a glob such as data/orders/*.parquet")
        if glob is None or not r.ok:
            return None
        return FilesSource(glob=glob, column=column, column_format=fmt)  # type: ignore[arg-type]
    if kind == "delta":
        path = r.text("delta")
        if path is not None and not path.strip():
            r.error(r.pos("delta"), "delta: must be a table's folder or s3:// URL")
        return DeltaSource(path=path.strip()) if path is not None and r.ok else None
    if kind == "iceberg":
        return _iceberg(r)
    if kind == "heartbeat":
        value = r.c["heartbeat"]
        if isinstance(value, YMap) and value:
            unknown_keys(r.path, value, (), r.out, " in heartbeat (write `heartbeat: {}`)")
            r.ok = False
        elif not (value is None or value is True or isinstance(value, YMap)):
            r.error(r.pos("heartbeat"), "heartbeat: write `heartbeat: {}`")
        return HeartbeatSource() if r.ok else None
    if kind == "openlineage":
        from monitor.config.lineage_spec import read_openlineage

        return read_openlineage(r)
    return _run_log(r)


def _iceberg(r: Reader) -> IcebergSource | None:
    table = r.text("iceberg")
    if table is not None and (
        len(table.split(".")) < 2 or not all(p.strip() for p in table.split("."))
    ):
        r.error(r.pos("iceberg"), f"iceberg: {table!r} is not NAMESPACE.TABLE")
    catalog = r.text("catalog")
    if catalog is None:
        r.error(
            r.c.key_pos("iceberg"),
            "iceberg: needs catalog: NAME (one of catalogs: in fresh.yml)",
        )
    if table is None or catalog is None or not r.ok:
        return None
    return IcebergSource(table=table, catalog=catalog)


def _run_log(r: Reader) -> RunLogSource | None:
    m = r.c["run_log"]
    if not isinstance(m, YMap):
        r.error(r.pos("run_log"), "run_log: expected a mapping (table or file, job…)")
        return None
    if unknown_keys(r.path, m, RUN_LOG_KEYS, r.out, " in run_log"):
        r.ok = False
    sub = Reader(r.path, m, YMap(m.pos), r.out)
    preset = sub.text("preset")
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            sub.error(
                m.val_pos("preset"),
                f"run_log.preset: unknown preset {preset!r}"
                f"{did_you_mean(preset, PRESETS)} (airflow or dbt)",
            )
        else:
            values.update(PRESETS[preset])
            if "table" in m or "file" in m:  # an explicit table/file replaces the preset's
                values.pop("table", None)
                values.pop("file", None)
    job = sub.text("job", required=True)
    for key in ("table", "file", "job_column", "status_column", "time_column"):
        v = sub.text(key)
        if v is not None:
            values[key] = v
    for key in ("success", "failure"):
        if key in m:
            values[key] = sub.words(m[key], f"run_log.{key}", m.val_pos(key))
    if "table" in values and "file" in values:
        sub.error(m.key_pos("file"), "run_log: give table or file, not both")
    elif "table" not in values and "file" not in values:
        sub.error(m.pos, "run_log: give table (a run-log table), file (a glob) or preset")
    if preset == "airflow" and "file" in values:
        sub.error(m.key_pos("file"), "run_log: the airflow preset reads a table (dag_run)")
    if preset == "dbt" and "table" in values:
        sub.error(m.key_pos("table"), "run_log: the dbt preset reads run_results.json files")
    if "table" in values:
        for key in ("table", "job_column", "status_column", "time_column"):
            if key in values:
                why = sqlguard.validate_identifier(values[key], dotted=key == "table")
                if why:
                    sub.error(m.val_pos(key), f"run_log.{key}: {why}")
    if "success" in values and not values["success"]:
        sub.error(m.val_pos("success"), "run_log.success: list at least one status")
    if not sub.ok or not r.ok or job is None:
        r.ok = False
        return None
    return RunLogSource(job=job, preset=preset, **values)  # type: ignore[arg-type]
