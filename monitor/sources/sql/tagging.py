"""Cost on SQLAlchemy engines (SPEC 14): every statement counted, sessions tagged.

psycopg engines count through their cursor class (set-up, pings and the dialect's own
first-connect queries all go through it); others through SQLAlchemy's
`before_cursor_execute`, which also leads each statement with the `/* tag */` comment where
the session cannot carry the tag. BigQuery jobs carry it as the job label `fresh`.
"""

from __future__ import annotations

import re
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


def bigquery_labels(tag: str) -> dict[str, str]:
    """The job labels a BigQuery session carries: `fresh` = the tag, as BigQuery allows a
    label value (lower-case letters, digits, `_` and `-`, at most 63 characters); none for
    an empty tag."""
    if not tag:
        return {}
    return {"fresh": re.sub(r"[^a-z0-9_-]", "_", tag.lower())[:63]}


def label_bigquery_jobs(engine: Engine, tag: str) -> None:
    """Every query job `engine` starts carries `bigquery_labels(tag)`: they go into the
    default QueryJobConfig of the client sqlalchemy-bigquery hands each new connection,
    which google-cloud-bigquery merges into every jobs.query / jobs.insert request."""
    from sqlalchemy import event

    labels = bigquery_labels(tag)
    if not labels:
        return

    @event.listens_for(engine, "do_connect")
    def _label(_dialect: Any, _rec: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        client = cparams.get("client")
        if client is None:  # a client the user supplies through connect_args is theirs
            return
        from google.cloud.bigquery import QueryJobConfig

        config = client.default_query_job_config or QueryJobConfig()
        config.labels = {**(config.labels or {}), **labels}
        client.default_query_job_config = config
