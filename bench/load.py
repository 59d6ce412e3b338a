"""Load generators: a closed loop of N clients, each in its own process, each sending its next
request as soon as the previous one is answered (``run_load``); and a burst of simultaneous
requests, one thread each, released together (``run_burst``).

Clients run in processes of their own so that their CPU time never holds a GIL the measurement
needs. Every run is bounded twice: by a number of requests and by a time cap. The same loop
drives HTTP requests to the server and the same SQL replayed straight against PostgreSQL (the
ceiling), so the two figures differ only in what answers.
"""

import http.client
import multiprocessing
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from bench.stats import Summary, summarize

WARMUP_REQUESTS_PER_CLIENT = 10
TIME_CAP_S = 60.0
REQUEST_TIMEOUT_S = 30.0
# Allowance on top of the time cap for spawning the clients and their warm-up.
START_ALLOWANCE_S = 60.0


class Target(Protocol):
    """What the clients load. Implementations are pickled into each client process."""

    def connect(self) -> Any: ...

    def perform(self, session: Any, job: Any) -> int | None:
        """Do one request; the number of rows in the answer, or None if it failed."""


@dataclass(frozen=True)
class HttpTarget:
    """GET requests to the server; each job is a path with its query string."""

    host: str
    port: int

    def connect(self) -> http.client.HTTPConnection:
        # gunicorn's sync workers close the connection after each response; HTTPConnection
        # reconnects by itself, as a browser would.
        return http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)

    def perform(self, session: http.client.HTTPConnection, job: str) -> int | None:
        try:
            session.request("GET", job)
            response = session.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            session.close()
            return None
        if response.status != 200:
            return None
        return body.count(b'{"id"')  # every spot object starts so; cheaper than parsing


@dataclass(frozen=True)
class SqlTarget:
    """SQL straight against PostgreSQL; each job is the statements one request runs."""

    url: str

    def connect(self) -> psycopg.Connection:
        # Autocommit, as Django runs: each statement is its own transaction.
        return psycopg.connect(self.url, autocommit=True)

    def perform(self, session: psycopg.Connection, job: Sequence[str]) -> int | None:
        rows: list = []
        try:
            for statement in job:
                rows = session.execute(statement.encode()).fetchall()
        except psycopg.Error:
            return None
        return len(rows)


@dataclass(frozen=True)
class _ClientRun:
    latencies_s: list[float]
    errors: int
    rows: int
    started: float
    finished: float


_start_line: threading.Barrier | None = None


def _join_start_line(barrier: threading.Barrier) -> None:
    global _start_line
    _start_line = barrier
    # Ctrl-C is the bench process's to handle: it stops the clients with the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _client(target: Target, jobs: Sequence[Any], warmup_jobs: Sequence[Any]) -> _ClientRun:
    session = target.connect()
    for job in warmup_jobs:
        target.perform(session, job)
    _start_line.wait(timeout=START_ALLOWANCE_S)
    # time.monotonic is system-wide on Linux, so the clients' start and end times compare.
    started = time.monotonic()
    deadline = started + TIME_CAP_S
    latencies, errors, rows = [], 0, 0
    for job in jobs:
        sent = time.perf_counter()
        answer_rows = target.perform(session, job)
        elapsed = time.perf_counter() - sent
        if answer_rows is None:
            errors += 1
        else:
            latencies.append(elapsed)
            rows += answer_rows
        if time.monotonic() > deadline:
            break
    return _ClientRun(latencies, errors, rows, started, time.monotonic())


def run_load(
    target: Target,
    jobs: Sequence[Any],
    *,
    clients: int,
    requests: int,
    warmup_per_client: int = WARMUP_REQUESTS_PER_CLIENT,
) -> Summary:
    """``requests`` jobs over ``clients`` concurrent clients, each warmed up first; requests/s
    is what all of them completed over the wall time from the common start to the last end."""
    context = multiprocessing.get_context("spawn")
    start_line = context.Barrier(clients)
    arguments = [
        (
            target,
            _share(jobs, client, clients, requests),
            # Warm-up takes the jobs after the measured ones, so it warms caches generally
            # rather than for exactly the requests about to be timed.
            _share(jobs, client, clients, warmup_per_client * clients, offset=requests),
        )
        for client in range(clients)
    ]
    with context.Pool(clients, initializer=_join_start_line, initargs=(start_line,)) as pool:
        runs = pool.starmap_async(_client, arguments).get(timeout=TIME_CAP_S + START_ALLOWANCE_S)
    return _summarize_runs(runs)


def _summarize_runs(runs: Sequence[_ClientRun]) -> Summary:
    return summarize(
        [latency for run in runs for latency in run.latencies_s],
        errors=sum(run.errors for run in runs),
        rows=sum(run.rows for run in runs),
        wall_s=max(run.finished for run in runs) - min(run.started for run in runs),
    )


def _share(
    jobs: Sequence[Any], client: int, clients: int, total: int, *, offset: int = 0
) -> list[Any]:
    """Client ``client``'s part of ``total`` jobs dealt round-robin, cycling through ``jobs``
    from ``offset`` on."""
    return [jobs[(offset + index) % len(jobs)] for index in range(client, total, clients)]


def run_burst(target: Target, jobs: Sequence[Any], *, processes: int) -> Summary:
    """Every job at once: a thread each, spread over ``processes`` processes, all held at one
    barrier until every thread is ready, so the server sees them all arrive together. Latency
    runs from each thread's release to its answer; requests/s is answers over the burst's wall
    time."""
    processes = min(processes, len(jobs))
    context = multiprocessing.get_context("spawn")
    start_line = context.Barrier(len(jobs))
    shares = [list(jobs[process::processes]) for process in range(processes)]
    with context.Pool(processes, initializer=_join_start_line, initargs=(start_line,)) as pool:
        runs = pool.starmap_async(_burst_client, [(target, share) for share in shares]).get(
            timeout=REQUEST_TIMEOUT_S + START_ALLOWANCE_S
        )
    return _summarize_runs(runs)


def _burst_client(target: Target, jobs: Sequence[Any]) -> _ClientRun:
    """One process's threads of a burst, one job each."""
    answers: list[tuple[float, float, int | None]] = []

    def send(job: Any) -> None:
        session = target.connect()
        _start_line.wait(timeout=START_ALLOWANCE_S)
        started = time.monotonic()
        rows = target.perform(session, job)
        answers.append((started, time.monotonic(), rows))  # list.append is atomic

    threads = [threading.Thread(target=send, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = [(started, ended, rows) for started, ended, rows in answers if rows is not None]
    return _ClientRun(
        latencies_s=[ended - started for started, ended, _ in answered],
        errors=len(jobs) - len(answered),
        rows=sum(rows for _, _, rows in answered),
        started=min((started for started, _, _ in answers), default=time.monotonic()),
        finished=max((ended for _, ended, _ in answers), default=time.monotonic()),
    )
