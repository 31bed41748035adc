"""The test servers themselves start and answer."""

from __future__ import annotations

import sqlalchemy as sa


def test_postgres_fixture_answers(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar() == 1
    engine.dispose()
