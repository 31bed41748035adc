"""A state store as an older fresh left it, for the tests of a migration's data step."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from monitor.store import migrations, schema


def migrate_up_to(conn: sa.Connection, version: int) -> None:
    """Apply migrations 1..`version` and record them, as that fresh would have."""
    for step in migrations.MIGRATIONS[:version]:
        if step.version == 1:
            schema.schema_version.create(conn, checkfirst=True)
        step.apply(conn)
        conn.execute(
            schema.schema_version.insert().values(
                version=step.version, description="", applied_at=datetime.now(UTC)
            )
        )
