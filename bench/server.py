"""The production server (gunicorn, as the Procfile runs it) in a subprocess, and its workers."""

import http.client
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.processes import HOST, BackgroundProcess, accepts_connections, children_of, free_port
from bench.project import django_env
from bench.stats import say

WORKERS = 2
# Persistent database connections, as production runs: a new connection per request would
# measure PostgreSQL's connection start-up, not the search.
CONN_MAX_AGE_S = "600"


@dataclass(frozen=True)
class WorkerMemory:
    rss_mb: float  # resident now
    peak_mb: float  # the most it was ever resident (VmHWM)


class GunicornServer:
    """``gunicorn securemyspot.wsgi`` with 2 workers on a free loopback port, against one
    database; stopped on leaving the ``with`` block, however it is left."""

    def __init__(self, database_url: str, **extra_env: str) -> None:
        self.port = free_port()
        self._process = BackgroundProcess(
            f"gunicorn-{self.port}",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "securemyspot.wsgi",
                "--workers",
                str(WORKERS),
                "--bind",
                f"{HOST}:{self.port}",
            ],
            env=django_env(database_url, CONN_MAX_AGE=CONN_MAX_AGE_S, **extra_env),
            ready=lambda: answers_healthz(self.port),
        )

    def __enter__(self) -> Self:
        say(f"starting gunicorn ({WORKERS} workers) on {HOST}:{self.port}")
        self._process.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._process.stop()

    def worker_memory(self) -> dict[int, WorkerMemory]:
        """Each worker's memory, by pid: the workers are the master's child processes."""
        return {pid: memory_of(pid) for pid in self.worker_pids()}

    def worker_pids(self) -> list[int]:
        return children_of(self._process.pid)


class WebStack:
    """What `make run` serves on one port (Procfile.dev): gunicorn (``GunicornServer``) and
    the socket server (uvicorn) behind ``securemyspot/path_router.py``, against one database,
    with ``extra_env`` set for all three; stopped on leaving the ``with`` block."""

    def __init__(self, database_url: str, **extra_env: str) -> None:
        self.gunicorn = GunicornServer(database_url, **extra_env)
        self.port = free_port()
        socket_port = free_port()
        env = django_env(database_url, CONN_MAX_AGE=CONN_MAX_AGE_S, **extra_env)
        self._socket = socket_server(socket_port, env)
        self._router = BackgroundProcess(
            f"path-router-{self.port}",
            [
                *(sys.executable, "-m", "securemyspot.path_router"),
                *("--listen", f"{HOST}:{self.port}"),
                *("--http", f"{HOST}:{self.gunicorn.port}"),
                *("--websocket", f"{HOST}:{socket_port}"),
            ],
            env=env,
            ready=lambda: answers_healthz(self.port),
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Self:
        with ExitStack() as started:
            started.enter_context(self.gunicorn)
            say("starting the socket server (uvicorn) and the path router in front of both")
            started.enter_context(self._socket)
            started.enter_context(self._router)
            self._started = started.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._started.close()


def socket_server(port: int, env: dict[str, str]) -> BackgroundProcess:
    """The socket server (uvicorn) on ``port``, as the Procfile's ``socket`` role runs it."""
    return BackgroundProcess(
        f"uvicorn-{port}",
        [
            *(sys.executable, "-m", "uvicorn", "securemyspot.asgi:application"),
            *("--host", HOST, "--port", str(port), "--ws-max-size", "65536"),
            *("--ws-per-message-deflate", "false"),
        ],
        env=env,
        ready=lambda: accepts_connections(port),
    )


def answers_healthz(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def memory_of(pid: int) -> WorkerMemory:
    """A process's resident memory now and at its peak, from /proc."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )

    def megabytes(key: str) -> float:
        return int(status[key].split()[0]) / 1024  # reported in kB

    return WorkerMemory(rss_mb=megabytes("VmRSS"), peak_mb=megabytes("VmHWM"))
