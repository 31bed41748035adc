"""Shared fixtures: real servers are started once per session, skipped loudly if missing."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests import servers

# Property tests: modest example counts so the suite stays fast on a loaded 2-core machine,
# no per-example deadline (timing there is noise), no example database written into the
# checkout. HYPOTHESIS_PROFILE=thorough runs many more examples by hand.
settings.register_profile(
    "fresh",
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("fresh"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fresh"))


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
