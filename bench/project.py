"""The project's own code, run against a bench database: ``manage.py`` and Django itself.

Settings come from the environment, so pointing the project at a bench database is a matter of
``DATABASE_URL``. ``DATA_DIR`` goes to a scratch folder so that a run never touches the laptop's
local data (its SQLite file, file cache or secret key).
"""

import atexit
import importlib
import multiprocessing
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self

PROJECT_DIR = Path(__file__).resolve().parent.parent


@cache
def scratch_dir() -> Path:
    """A folder for this run's DATA_DIR and server logs, removed when the run ends."""
    path = Path(tempfile.mkdtemp(prefix="securemyspot-bench-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@cache
def _bench_secret_key() -> str:
    return secrets.token_urlsafe(50)


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment a production process of the project gets, on the bench database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "securemyspot.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        # What a production start requires; the sandbox unless a benchmark asks for Stripe.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _bench_secret_key(),
        "PAYMENT_GATEWAY": "sandbox",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(scratch_dir()),
        # A benchmark is one client address holding thousands of spots: its limit and the
        # guest booking throttle would refuse it (and counting it would measure the laptop's
        # file cache, not a deploy's Redis). Each booking has an email of its own, so the
        # per-email limit stays on, and its query is measured.
        "RESERVATION_UNPAID_HOLDS_PER_ADDRESS": "0",
        "THROTTLE_GUEST_BOOKING": "off",
        **extra,
    }


def manage(database_url: str, *arguments: str) -> None:
    """Run a management command in a subprocess; its output (a progress bar) goes to ours."""
    subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_DIR,
        env=django_env(database_url),
        check=True,
    )


def _set_up_django(database_url: str) -> None:
    os.environ.update(django_env(database_url))
    import django

    django.setup()


def _call(function_path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    module, _, name = function_path.rpartition(".")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


class DjangoProcess:
    """A child process with Django set up against one bench database, to run functions in.

    Django reads its database settings once per process, and the bench uses two databases; a
    child per database keeps the bench process itself free of Django and of its GIL. Functions
    are named by their dotted path, so that the modules holding them may import Django at the
    top: only the child ever imports them.
    """

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url

    def __enter__(self) -> Self:
        # An executor, not a Pool: if Django fails to start, the call fails at once instead of
        # the pool respawning the child forever.
        self._executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_set_up_django,
            initargs=(self._database_url,),
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._executor.shutdown(cancel_futures=True)

    def run(self, function_path: str, *args: Any, timeout_s: float = 300, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` in the child, e.g.
        ``run("bench.search_django.query_points", ...)``; arguments and result travel pickled,
        so keep them to plain data."""
        return self.start(function_path, *args, **kwargs).result(timeout=timeout_s)

    def start(self, function_path: str, *args: Any, **kwargs: Any) -> Future:
        """As ``run``, without waiting: the future of its result, so that children work at
        the same time."""
        return self._executor.submit(_call, function_path, args, kwargs)
