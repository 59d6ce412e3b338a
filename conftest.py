import os

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    # Throttle counters live in the cache. The default file cache is shared with a local server
    # and with any other test run, so each test gets its own empty in-memory one.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def pytest_collection_modifyitems(config, items) -> None:
    # PostgreSQL-only tests run in the second pass of .ci/run, which sets REQUIRE_POSTGRES:
    # there a missing PostgreSQL is an error, never a silent skip.
    if connection.vendor == "postgresql":
        return
    if os.environ.get("REQUIRE_POSTGRES"):
        raise pytest.UsageError("REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL")
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: runs in .ci/run's second pass (set DATABASE_URL=postgres://...)"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
