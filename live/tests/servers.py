"""A real uvicorn serving the project's ASGI application (the pages, the API and the live
sockets, as `make run`'s socket server and the Procfile start it) against the test's
PostgreSQL database and Redis."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

from payments.tests.fake_stripe import free_port
from reservations.tests.workers import running_server, unavailable


@contextmanager
def asgi_server(log: Path, **environment: str) -> Iterator[int]:
    """uvicorn on a free loopback port, with ``environment`` added to the test's settings;
    yields the port."""
    if not settings.REDIS_URL:
        unavailable("needs Redis (REDIS_URL) for the channel layer")
    port = free_port()
    database_url = urlsplit(os.environ["DATABASE_URL"])._replace(
        path=f"/{connection.settings_dict['NAME']}"
    )
    command = [sys.executable, "-m", "uvicorn", "securemyspot.asgi:application"]
    with running_server(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--ws-per-message-deflate", "false"],
        env={
            **os.environ,
            "DATABASE_URL": database_url.geturl(),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "PAYMENT_GATEWAY": "sandbox",
            "DATA_DIR": str(log.parent / "data"),
            **environment,
        },
        log=log,
        ready=lambda: b"Uvicorn running" in log.read_bytes(),
        what="the ASGI server",
    ):
        yield port


@contextmanager
def socket_server(log: Path, path: str = "/ws/availability/") -> Iterator[str]:
    """The URL of the socket at ``path`` on a server of the test's own."""
    with asgi_server(log) as port:
        yield f"ws://127.0.0.1:{port}{path}"
