"""SQL checks done at config time, without connecting anywhere.

Identifiers are validated here and quoted by the readers, never pasted. `where` and `query`
are parsed with sqlglot (imported only when a contract has one: it costs ~150 ms) so a
statement that writes, or that calls a function reaching the host's files, programs or
network (monitor.config.sqldeny), is refused before any warehouse sees it. The readers still run
every read in a read-only transaction: this module is the first fence, not the only one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from monitor.config.sqldeny import host_reach
from monitor.core.errors import SourceError

# A dotted name of plain identifiers: `orders`, `raw_shopify.orders`, `db.schema.table`.
# `-` is allowed inside a part for BigQuery project ids; readers quote every part.
# One part of a table name as written without quotes (`-` inside a part: BigQuery project
# ids); run-time quoting (monitor/sources/sql/shared.py) reads names by the same pattern.
IDENTIFIER_PART = r"[A-Za-z_][A-Za-z0-9_$]*(?:-[A-Za-z0-9_$]+)*"
_PART = IDENTIFIER_PART
_DOTTED = re.compile(rf"{_PART}(?:\.{_PART}){{0,3}}")
_SINGLE = re.compile(_PART)
_PLAIN = re.compile(IDENTIFIER_PART + r"\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# SQLAlchemy URL scheme (before `+driver`) → sqlglot dialect.
_DIALECTS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "redshift": "redshift",
    "mssql": "tsql",
    "oracle": "oracle",
    "trino": "trino",
    "presto": "presto",
    "databricks": "databricks",
    "clickhouse": "clickhouse",
}


def url_scheme(url: str) -> str:
    """The database part of a SQLAlchemy URL's scheme: `postgresql+psycopg://…` → `postgresql`."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        scheme = url.partition(":")[0]
    return scheme.partition("+")[0].lower()


def dialect_for_url(url: str) -> str:
    """The sqlglot dialect for a SQLAlchemy URL ("" = sqlglot's generic SQL)."""
    return _DIALECTS.get(url_scheme(url), "")


def validate_identifier(name: str, dotted: bool = True, quoted_ok: bool = False) -> str | None:
    """None when `name` is a plain (dotted) identifier; else why it is refused.

    With `quoted_ok` (a warehouse table's `table` and `column`), parts may also be
    "double quoted" for names stored in mixed case or with other characters
    (`"MyTable"`, `db."Sales"."Orders 2024"`): split_identifier reads them and the readers
    quote them again for their database, so they are never pasted.
    """
    if not isinstance(name, str) or not name:
        return "must be a non-empty name"
    if (dotted and _DOTTED.fullmatch(name)) or (not dotted and _SINGLE.fullmatch(name)):
        return None
    if quoted_ok and '"' in name:
        try:
            split_identifier(name, parts=4 if dotted else 1)
            return None
        except SourceError:
            pass
    if any(q in name for q in "\"'`[]"):
        why = "contains a quote or bracket"
    elif ";" in name:
        why = "contains ';'"
    elif "--" in name or "/*" in name:
        why = "contains an SQL comment"
    elif any(c.isspace() for c in name):
        why = "contains a space"
    elif not dotted and "." in name:
        why = "must be one name, without a '.'"
    else:
        why = "is not a plain identifier"
    quoting = ', or "double quotes" around a part' if quoted_ok else ""
    return (
        f"{name!r} {why}: use a plain name (letters, digits, _) "
        f"{'and dots ' if dotted else ''}— fresh quotes identifiers itself{quoting}"
    )


# How a reader quotes one part split_identifier gives (the part, was it "quoted"): the
# dialect's rule, shared by the read and the `--at` cut so both name the same column.
Quote = Callable[[str, bool], str]


def split_identifier(name: str, *, parts: int = 4) -> list[tuple[str, bool]]:
    """`schema.table` → [(part, was_quoted)]; plain parts or "double quoted" ones only
    (`""` inside quotes is one `"`; no empty part, no control character). The readers
    quote every part again for their database; config validation accepts what this does."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(name)
    while True:
        if i < n and name[i] == '"':
            j, buf = i + 1, []
            while True:
                k = name.find('"', j)
                if k < 0:
                    raise SourceError(f"invalid identifier {name!r}: unclosed quote")
                buf.append(name[j:k])
                if name[k + 1 : k + 2] == '"':  # "" inside quotes is one "
                    buf.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            part = "".join(buf)
            if not part or _CONTROL.search(part):
                raise SourceError(f"invalid identifier {name!r}")
            out.append((part, True))
        else:
            k = name.find(".", i)
            part = name[i:] if k < 0 else name[i:k]
            if not _PLAIN.match(part):
                raise SourceError(
                    f'invalid identifier {name!r}: use letters, digits and _ or "double quotes"'
                )
            out.append((part, False))
            i = i + len(part)
        if i == n:
            break
        if name[i] != ".":
            raise SourceError(f"invalid identifier {name!r}")
        i += 1
    if len(out) > parts:
        raise SourceError(f"invalid identifier {name!r}: at most {parts} dotted parts")
    return out


def _exp() -> Any:
    from sqlglot import exp

    return exp


def _parse(sql: str, dialect: str) -> tuple[list[Any], str | None]:
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    # sqlglot logs a warning when it falls back to a raw Command; we report it ourselves.
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect or None) if t is not None]
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [], f"cannot be parsed as {dialect or 'SQL'}: {first}"
    finally:
        log.setLevel(level)
    return trees, None


def _statement_classes() -> tuple[type, ...]:
    exp = _exp()
    return tuple(getattr(exp, n) for n in ("DML", "DDL") if hasattr(exp, n))


def _writes(tree: Any) -> str | None:
    """The first thing in `tree` that writes, locks or is not plain SQL, or None."""
    exp = _exp()
    bad = tuple(
        getattr(exp, n)
        for n in (
            "DML",
            "DDL",
            "Command",
            "Copy",
            "Merge",
            "Insert",
            "Update",
            "Delete",
            "Create",
            "Drop",
            "Alter",
            "TruncateTable",
            "Grant",
            "Set",
            "Use",
            "Transaction",
            "Commit",
            "Rollback",
            "Pragma",
            "LoadData",
            "Into",
            "Lock",
        )
        if hasattr(exp, n)
    )
    for node in tree.walk():
        if isinstance(node, bad):
            kind = type(node).__name__.upper()
            if kind == "INTO":
                return "SELECT … INTO writes a table"
            if kind == "LOCK":
                return "FOR UPDATE/SHARE takes locks"
            if kind == "COMMAND":
                return f"{str(node.this).upper()} is not a read"
            return f"{kind} is not a read"
    return None


def check_where(expr: str, dialect: str = "") -> str | None:
    """None when `expr` is exactly one boolean expression that reads; else why not."""
    if not isinstance(expr, str) or not expr.strip():
        return "must be a non-empty SQL expression"
    if ";" in _strip_strings(expr):
        return "must be one expression: ';' is not allowed"
    trees, err = _parse(expr, dialect)
    if err:
        return err
    if len(trees) != 1:
        return "must be one expression"
    exp = _exp()
    tree = trees[0]
    while isinstance(tree, exp.Paren):
        tree = tree.this
    if isinstance(tree, (exp.Query, exp.Command, *_statement_classes())):
        return "must be a boolean expression, not a statement"
    why = _writes(trees[0])
    if why:
        return f"must only read: {why}"
    why = _reaches_host(expr, trees[0], dialect)
    if why:
        return f"must read only the warehouse's tables: {why}"
    boolean = tuple(
        getattr(exp, n)
        for n in ("Predicate", "Connector", "Not", "Boolean", "Exists", "Xor")
        if hasattr(exp, n)
    )
    if not isinstance(tree, boolean):
        return "must be a boolean expression (a comparison, IN, LIKE, IS NULL, AND/OR…)"
    return None


def check_readonly_query(sql: str, dialect: str = "") -> str | None:
    """None when `sql` is exactly one SELECT (or WITH … SELECT) that reads; else why not."""
    if not isinstance(sql, str) or not sql.strip():
        return "must be a non-empty SELECT"
    trees, err = _parse(sql, dialect)
    if err:
        return err
    if len(trees) != 1:
        return f"must be one statement, found {len(trees)}"
    exp = _exp()
    tree = trees[0]
    if not isinstance(tree, exp.Query):
        word = (
            type(tree).__name__.upper()
            if isinstance(tree, _statement_classes())
            else _statement_word(sql)
        )
        return f"must be a SELECT, not {word}"
    why = _writes(tree)
    if why:
        return f"must only read: {why}"
    why = _reaches_host(sql, tree, dialect)
    if why:
        return f"must read only the warehouse's tables: {why}"
    return None


def _reaches_host(sql: str, tree: Any, dialect: str) -> str | None:
    """Why `sql` reaches past the warehouse's tables (monitor.config.sqldeny), or None."""
    hit = host_reach(sql, dialect)
    if hit is not None:
        return hit.message()
    if dialect in ("duckdb", ""):
        # DuckDB reads `FROM 'orders.csv'` or `FROM "https://…"` as a file or URL.
        exp = _exp()
        for table in tree.find_all(exp.Table):
            name = table.name
            if any(c in name for c in "/\\:") or re.search(r"\.[A-Za-z0-9]+$", name):
                return f"{name!r} is a file or URL, not a table"
    return None


def _statement_word(sql: str) -> str:
    words = _strip_strings(sql).split()
    return words[0].upper() if words else "empty"


def _strip_strings(sql: str) -> str:
    """`sql` with quoted strings blanked, so a ';' inside 'a;b' is not a separator."""
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "''", sql)
