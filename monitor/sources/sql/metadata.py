"""`table` without `column`: the warehouse's own record of when a table last changed.

- MySQL / MariaDB: `information_schema.tables.update_time`, read as `UNIX_TIMESTAMP()` so
  the session time zone cannot shift it. InnoDB keeps it in memory only: it is NULL after a
  server restart until the table's next write (reported as no data, with that reason). On
  MySQL 8 the session sets `information_schema_stats_expiry = 0`, or the value is cached
  for up to a day.
- Snowflake: `<database>.information_schema.tables.last_altered` (also moves on DDL and on
  DML that changes nothing, and on background maintenance such as reclustering).
- BigQuery: `<project>.<dataset>.__TABLES__.last_modified_time` (milliseconds since the
  epoch; the table's `lastModifiedTime`, which metadata updates also move).

Every metadata contract of a warehouse is read by ONE statement: a UNION ALL with one
branch per schema (per database on Snowflake, per dataset on BigQuery), table names bound
as parameters. One branch per schema, not one `(schema, name) IN (…)` filter: MariaDB
looks up `table_schema = ? AND table_name IN (…)` in that schema only, while the row-value
form scans every database (EXPLAIN: "Scanned all databases"); bench/metadata_bench.py.
Other databases keep no such time: their contracts get an error suggesting `column:`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from monitor.config.redact import scrub
from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading, TableSource
from monitor.sources.base import ReadContext, describe, error_reading
from monitor.sources.sql.alchemy import engine_for
from monitor.sources.sql.shared import split_identifier
from monitor.sources.timestamps import TimestampError, to_utc

CHUNK = 1000  # contracts per statement
_NAMES = {"mysql": "MySQL/MariaDB", "snowflake": "Snowflake", "bigquery": "BigQuery"}
_OTHER_NAMES = {"postgresql": "PostgreSQL", "duckdb": "DuckDB", "sqlite": "SQLite"}
_BQ_PART = re.compile(r"[A-Za-z0-9_-]+\Z")
_PARAM = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Ref:
    """A table as the metadata query names it: catalog/schema None means the current one."""

    catalog: str | None
    schema: str | None
    name: str


@dataclass(frozen=True)
class Statement:
    """One metadata query: rows are (branch, schema, table, time)."""

    sql: str
    params: dict[str, Any]
    branches: list[list[tuple[Ref, Contract]]]  # by branch number


def backend_of(url: str) -> str:
    """`mysql`, `snowflake`, `bigquery`, … from a SQLAlchemy URL (mariadb counts as mysql)."""
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    return "mysql" if scheme == "mariadb" else scheme


def unsupported(url: str) -> str | None:
    """Why `table` without `column` cannot work on this warehouse, or None."""
    backend = backend_of(url)
    if backend in _NAMES:
        return None
    name = _OTHER_NAMES.get(backend, backend)
    return (
        f"{name} keeps no last-modified time for tables: add `column:` "
        "(the newest value of a timestamp column is the last update)"
    )


def read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per metadata contract; one statement per warehouse (per CHUNK)."""
    by_warehouse: dict[str, list[Contract]] = {}
    for c in contracts:
        by_warehouse.setdefault(c.warehouse, []).append(c)
    readings: list[Reading] = []
    for warehouse, group in by_warehouse.items():
        for i in range(0, len(group), CHUNK):
            readings.extend(_read(warehouse, group[i : i + CHUNK], ctx))
    return readings


def explain(contract: Contract, ctx: ReadContext) -> str:
    """The metadata query one check of this contract runs."""
    url = _url(contract.warehouse, ctx)
    why = unsupported(url)
    if why is not None:
        return f"-- warehouse {contract.warehouse}: cannot read table metadata: {why}"
    stmt = build(backend_of(url), [contract])
    shown = ", ".join(f":{k} = {v!r}" for k, v in stmt.params.items())
    return (
        f"-- warehouse {contract.warehouse} ({scrub(url)}), read-only\n{stmt.sql}\n-- with {shown}"
    )


def _url(warehouse: str, ctx: ReadContext) -> str:
    wh = ctx.settings.warehouses.get(warehouse)
    if wh is None:
        raise SourceError(f"warehouse {warehouse!r} is not defined in fresh.yml")
    return wh.url


# --- SQL ----------------------------------------------------------------------------------


def ref_of(contract: Contract, backend: str) -> Ref:
    """The table of a metadata contract, split and normalised for `backend`."""
    src = contract.source
    if not isinstance(src, TableSource):
        raise TypeError(f"{contract.name} is not a table contract")
    if backend == "mysql":
        names = [p for p, _ in split_identifier(src.table, parts=2)]
        return Ref(None, names[0] if len(names) == 2 else None, names[-1])
    if backend == "snowflake":
        # Unquoted Snowflake identifiers are stored upper-case; quoted ones as written.
        upper = [p if q else p.upper() for p, q in split_identifier(src.table, parts=3)]
        padded: list[str | None] = [None, None, None]
        padded[3 - len(upper) :] = upper
        return Ref(padded[0], padded[1], upper[-1])
    if backend == "bigquery":
        bq = [p for p, _ in split_identifier(src.table, parts=3)]
        if len(bq) < 2:
            raise SourceError(f"BigQuery table {src.table!r}: name it dataset.table")
        if not all(_BQ_PART.match(p) for p in bq[:-1]):
            raise SourceError(f"BigQuery table {src.table!r}: invalid project or dataset")
        return Ref(bq[0] if len(bq) == 3 else None, bq[-2], bq[-1])
    raise SourceError(f"no table metadata on {backend}")


def build(backend: str, contracts: Sequence[Contract]) -> Statement:
    """The single UNION ALL statement reading every contract's table metadata."""
    groups: dict[tuple[str | None, str | None], list[tuple[Ref, Contract]]] = {}
    for c in contracts:
        ref = ref_of(c, backend)
        key = (ref.catalog, ref.schema) if backend != "snowflake" else (ref.catalog, None)
        groups.setdefault(key, []).append((ref, c))
    params: dict[str, Any] = {}
    branches = list(groups.values())
    selects = []
    for g, members in enumerate(branches):
        selects.append(_branch(backend, g, members, params))
    return Statement("\nUNION ALL\n".join(selects), params, branches)


def _bind(params: dict[str, Any], name: str, value: str) -> str:
    params[name] = value
    return f":{name}"


def _branch(
    backend: str, g: int, members: list[tuple[Ref, Contract]], params: dict[str, Any]
) -> str:
    first = members[0][0]
    names = sorted({ref.name for ref, _ in members})
    if backend == "mysql":
        db = "DATABASE()" if first.schema is None else _bind(params, f"s{g}", first.schema)
        tables = ", ".join(_bind(params, f"t{g}_{i}", n) for i, n in enumerate(names))
        return (
            f"SELECT {g} AS branch, table_schema, table_name, "
            f"UNIX_TIMESTAMP(update_time) AS updated FROM information_schema.tables "
            f"WHERE table_schema = {db} AND table_name IN ({tables})"
        )
    if backend == "snowflake":
        where_cat = "" if first.catalog is None else _snow_quote(first.catalog) + "."
        pairs = sorted({(ref.schema, ref.name) for ref, _ in members}, key=str)
        conds = []
        for i, (schema, name) in enumerate(pairs):
            sch = "CURRENT_SCHEMA()" if schema is None else _bind(params, f"s{g}_{i}", schema)
            conds.append(
                f"(table_schema = {sch} AND table_name = {_bind(params, f't{g}_{i}', name)})"
            )
        return (
            f"SELECT {g} AS branch, table_schema, table_name, last_altered AS updated "
            f"FROM {where_cat}information_schema.tables WHERE {' OR '.join(conds)}"
        )
    # BigQuery: the dataset's __TABLES__ meta-table; parts were checked by ref_of.
    path = ".".join(p for p in (first.catalog, first.schema) if p is not None)
    tables = ", ".join(_bind(params, f"t{g}_{i}", n) for i, n in enumerate(names))
    return (
        f"SELECT {g} AS branch, dataset_id AS table_schema, table_id AS table_name, "
        f"last_modified_time AS updated FROM `{path}.__TABLES__` "
        f"WHERE table_id IN ({tables})"
    )


def _snow_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- Reading ------------------------------------------------------------------------------


def _read(warehouse: str, contracts: list[Contract], ctx: ReadContext) -> list[Reading]:
    started = time.perf_counter()
    try:
        url = _url(warehouse, ctx)
    except SourceError as exc:
        return [error_reading(c, str(exc)) for c in contracts]
    why = unsupported(url)
    if why is not None:
        return [error_reading(c, why) for c in contracts]
    backend = backend_of(url)
    planned, readings = [], []
    for c in contracts:
        try:
            ref_of(c, backend)
            planned.append(c)
        except SourceError as exc:
            readings.append(error_reading(c, str(exc)))
    if not planned:
        return readings
    stmt = build(backend, planned)
    try:
        rows = _run(url, warehouse, backend, stmt, ctx)
    except Exception as exc:
        why = f"cannot read table metadata: {describe(exc)}"
        elapsed = time.perf_counter() - started
        return readings + [error_reading(c, why, elapsed) for c in planned]
    each = (time.perf_counter() - started) / len(planned)
    # Keyed by (branch, schema, name); schema None matches any (one schema per branch but
    # on Snowflake), and a lower-cased key covers case-insensitive name matching.
    found: dict[tuple[int, str | None, str], object] = {}
    for branch, schema, name, updated in rows:
        for s in (str(schema), None):
            found.setdefault((int(branch), s, str(name)), updated)
            found.setdefault((int(branch), s, str(name).lower()), updated)
    for g, members in enumerate(stmt.branches):
        for ref, c in members:
            schema = ref.schema if backend == "snowflake" else None
            key = (g, schema, ref.name)
            if key not in found:
                key = (g, schema, ref.name.lower())
            reading = _reading(c, backend, key in found, found.get(key))
            readings.append(replace(reading, duration_seconds=each))
            ctx.deliver(readings[-1])
    return readings


def _reading(contract: Contract, backend: str, exists: bool, value: object) -> Reading:
    src = contract.source
    assert isinstance(src, TableSource)
    if not exists:
        return error_reading(
            contract,
            f"table {src.table} not found in {_where(backend)} (missing, or not visible "
            "to this user)",
        )
    fmt = {"mysql": "epoch_s", "bigquery": "epoch_ms"}.get(backend)
    try:
        last = to_utc(value, column_format=fmt)
    except TimestampError as exc:
        return error_reading(contract, f"{_where(backend)}: {exc}")
    if last is None:
        detail = f"{_where(backend)} has no time for {src.table}"
        if backend == "mysql":
            detail += " (InnoDB forgets update_time on restart until the next write)"
        return Reading(contract.name, detail=detail)
    return Reading(contract.name, last_update=last)


def _where(backend: str) -> str:
    return {
        "mysql": "information_schema.tables.update_time",
        "snowflake": "information_schema.tables.last_altered",
        "bigquery": "__TABLES__.last_modified_time",
    }[backend]


def _run(
    url: str, warehouse: str, backend: str, stmt: Statement, ctx: ReadContext
) -> list[tuple[Any, ...]]:
    engine = engine_for(url, ctx.settings.warehouses[warehouse], ctx.settings.base_dir, warehouse)
    with engine.connect() as conn:
        if backend == "mysql" and not getattr(conn.dialect, "is_mariadb", False):
            # MySQL 8 caches information_schema table statistics for a day by default.
            conn.exec_driver_sql("SET SESSION information_schema_stats_expiry = 0")
        style = conn.dialect.paramstyle
        if style in ("pyformat", "named"):
            # Straight to the driver: compiling a text() with 1,000 binds costs more than
            # the query itself (measured on MariaDB, bench/metadata_bench.py).
            sql = stmt.sql
            if style == "pyformat":
                sql = _PARAM.sub(lambda m: f"%({m[1]})s" if m[1] in stmt.params else m[0], sql)
            return [tuple(r) for r in conn.exec_driver_sql(sql, stmt.params).fetchall()]
        from sqlalchemy import text

        return [tuple(r) for r in conn.execute(text(stmt.sql), stmt.params).fetchall()]
