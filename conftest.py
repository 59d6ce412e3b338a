import os

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from securemyspot.celery import app as celery_app


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    # Throttle counters live in the cache. The default file cache is shared with a local server
    # and with any other test run, so each test gets its own empty in-memory one.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


@pytest.fixture(autouse=True)
def _private_spot_list_files(settings, tmp_path) -> None:
    settings.SPOT_LIST_DIR = str(tmp_path / "spot-lists")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # The production hasher is slow on purpose; the tests are about behaviour, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_run_inline():
    # Tasks queued by a request run in the test's own thread, as soon as they are queued, so a
    # test sees their effects (sent mail, charges) without a worker. Tests of the real worker
    # path turn this off.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


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
