"""Cost on SQLAlchemy engines (SPEC 14): every statement counted, sessions tagged.

psycopg engines count through their cursor class (set-up, pings and the dialect's own
first-connect queries all go through it); others through SQLAlchemy's
`before_cursor_execute`, which also leads each statement with the `/* tag */` comment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.sources import cost

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def tag_and_count(engine: Engine, name: str | None, comment: str) -> None:
    """Count each statement SQLAlchemy sends and lead it with the tag comment."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _before(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        cost.count(name)
        return comment + statement, params


def counting_cursor(name: str | None) -> type:
    """A psycopg cursor class that counts every statement it sends for `name`."""
    import psycopg

    class CountingCursor(psycopg.Cursor[Any]):
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            cost.count(name)
            return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> Any:
            cost.count(name)
            return super().executemany(*args, **kwargs)

    return CountingCursor
