"""Shared fixtures: real servers are started once per session, skipped loudly if missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import servers


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A real PostgreSQL server for the whole session (database `postgres`)."""
    why = servers.postgres_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    with servers.postgres() as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_url(pg_url: str) -> str:
    """A new, empty PostgreSQL database for this test module (isolates modules)."""
    return servers.create_database(pg_url)


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A real MariaDB server for the whole session (`mysql+pymysql://root@…/mysql`)."""
    why = servers.mariadb_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    with servers.mariadb() as url:
        yield url
