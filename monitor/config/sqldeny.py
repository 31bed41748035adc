"""Functions that reach past the warehouse's tables, refused in a contract's SQL.

A freshness read needs tables and `max()`, never the server's files, programs, network or
settings. Read-only sessions do not stop those calls (`pg_read_file` and MySQL's `LOAD_FILE`
read files in a read-only transaction when the role may), so `where` and `query` text naming
one is a `validate` error, and is refused again just before it runs (config can be bypassed
by a reload race or by code that builds contracts itself). DuckDB connections are also
locked down at run time (monitor.sources.duck_guard); on the other databases the role fresh
connects as is the last fence (README, Security).

The scan is textual on purpose: no parser, so it costs microseconds at run time and cannot
be fooled by a dialect quirk the parser reads differently from the server (MySQL's
backslash escapes, `/*! … */` comments that MySQL runs). A distinctive name (`pg_read_file`,
`load_file`, `read_csv`, `dblink`: nobody's column) is refused wherever it stands as a word,
even inside a string or a comment, so no comment between the name and its `(` hides it;
an everyday word (`glob`, `query`, `edit`) only when a `(` follows, and those are DuckDB's,
whose locked connection refuses them anyway, or SQLite shell functions that Python's
sqlite3 does not have. PostgreSQL's Unicode-escaped identifiers (`U&"\\0070g_read_file"`)
could spell any name: they are refused too.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, NamedTuple

_PG_FILES = (
    "pg_read_file pg_read_binary_file pg_stat_file pg_ls_dir pg_ls_logdir pg_ls_waldir "
    "pg_ls_tmpdir pg_ls_archive_statusdir pg_ls_logicalsnapdir pg_ls_logicalmapdir "
    "pg_ls_replslotdir pg_logdir_ls pg_file_read pg_file_write pg_file_rename pg_file_unlink "
    "pg_file_sync lo_import lo_export"
)
_PG_ELSEWHERE = (
    "dblink dblink_exec dblink_connect dblink_connect_u dblink_open dblink_fetch "
    "dblink_send_query dblink_get_result query_to_xml query_to_xmlschema "
    "query_to_xml_and_xmlschema cursor_to_xml"
)
_PG_SERVER = (
    "set_config pg_reload_conf pg_rotate_logfile pg_terminate_backend pg_cancel_backend "
    "pg_promote pg_switch_wal pg_create_restore_point pg_backup_start pg_backup_stop "
    "pg_start_backup pg_stop_backup"
)
_MYSQL = "load_file sys_exec sys_eval sys_get sys_set"
_SQLITE = "load_extension readfile writefile edit fts3_tokenizer"
_DUCKDB = (
    "read_text read_blob read_csv read_csv_auto read_parquet parquet_scan read_json "
    "read_json_auto read_json_objects read_json_objects_auto read_ndjson read_ndjson_auto "
    "read_ndjson_objects sniff_csv parquet_metadata parquet_schema parquet_file_metadata "
    "parquet_kv_metadata parquet_bloom_probe iceberg_scan iceberg_metadata iceberg_snapshots "
    "delta_scan read_xlsx read_avro st_read st_read_meta sqlite_scan sqlite_attach "
    "postgres_scan postgres_attach postgres_query postgres_execute mysql_query mysql_execute "
    "duckdb_secrets which_secret duckdb_extensions getenv"
)
# Names that are ordinary functions elsewhere (SQLite's glob(pattern, text)): DuckDB only.
_DUCKDB_ONLY = "glob query query_table"
_TSQL = (
    "xp_cmdshell xp_dirtree xp_fileexist xp_subdirs xp_regread openrowset opendatasource "
    "openquery sp_oacreate sp_execute_external_script sp_configure"
)
_OTHERS = "external_query utl_file utl_http utl_tcp utl_smtp utl_inaddr httpuritype dbms_java"

# PostgreSQL relations that read the server's configuration files or hold passwords.
_RELATIONS: Final = {
    **dict.fromkeys(
        ["pg_file_settings", "pg_hba_file_rules", "pg_ident_file_mappings"],
        "reads the server's configuration files",
    ),
    **dict.fromkeys(["pg_authid", "pg_shadow", "pg_user_mappings"], "holds passwords"),
}

_WHY: Final = {
    **dict.fromkeys(_PG_FILES.split(), "reads or writes the database server's files"),
    **dict.fromkeys(_PG_ELSEWHERE.split(), "runs SQL on another server or from a string"),
    **dict.fromkeys(_PG_SERVER.split(), "changes settings or controls the server"),
    **dict.fromkeys(_MYSQL.split(), "reaches the database server's files or programs"),
    **dict.fromkeys(_SQLITE.split(), "reaches files or extensions of the host"),
    **dict.fromkeys((_DUCKDB + " " + _DUCKDB_ONLY).split(), "reads files, URLs or settings"),
    **dict.fromkeys(_TSQL.split(), "reaches the server's files, programs or other servers"),
    **dict.fromkeys(_OTHERS.split(), "reaches other servers or the network"),
}
# Everyday words that are only refused as calls (see the module docstring).
_CALL_ONLY = frozenset(["glob", "query", "edit", "readfile", "writefile", "getenv"])


class HostReach(NamedTuple):
    """A denied name in a piece of SQL: what it is, why, and where (1-based)."""

    name: str
    why: str
    line: int
    column: int

    def message(self) -> str:
        """`pg_read_file() reads or writes the database server's files (line 1, column 8)`."""
        call = self.name if self.name.startswith(("U&", "relation")) else f"{self.name}()"
        return f"{call} {self.why} (line {self.line}, column {self.column})"


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_CALL = re.compile(r"[\"`\]]?\s*\(")  # what follows a name that is called
_UNICODE_IDENT = re.compile(r"U&\"", re.IGNORECASE)


@cache
def _denied(dialect: str) -> frozenset[str]:
    names = set(_WHY)
    if dialect not in ("duckdb", ""):
        names -= set(_DUCKDB_ONLY.split())
    return frozenset(names)


def host_reach(sql: str, dialect: str = "") -> HostReach | None:
    """The first host-reaching call in `sql` for this sqlglot dialect ("" = any), or None.

    Word by word (one C regex, one set lookup each): linear in the text, a few microseconds
    for a typical `where` (a 150-way regex alternation took 90 µs).
    """
    denied = _denied(dialect)
    hit: tuple[int, str, str] | None = None  # (offset, name, why)
    for m in _WORD.finditer(sql):
        word = m.group().lower()
        if word in denied:
            if word in _CALL_ONLY and not _CALL.match(sql, m.end()):
                continue  # an everyday word used as a column: only a call is refused
            hit = (m.start(), word, _WHY[word])
            break
        if word in _RELATIONS:
            hit = (m.start(), f"relation {word}", _RELATIONS[word])
            break
    u = _UNICODE_IDENT.search(sql, 0, hit[0] if hit else len(sql))
    if u is not None:
        hit = (u.start(), 'U&"…"', "is an escaped identifier that can spell any name")
    if hit is None:
        return None
    offset, name, why = hit
    line = sql.count("\n", 0, offset) + 1
    column = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return HostReach(name, why, line, column)
