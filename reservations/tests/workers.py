"""Real Celery worker and beat processes for the end-of-reservation engine's tests.

The engine's promises (docs/tasks.md) are about processes: a task delivered twice to two
workers, a worker killed in the middle of a batch, the broker restarted under a worker. These
helpers start ``celery worker`` (prefork) and ``celery beat`` as subprocesses against the test's
PostgreSQL database, the configured RabbitMQ and Redis, and localstripe, and let a test watch
what matters: the database, the PaymentIntents at localstripe, the messages at the mail server
(Django's file backend, one folder per test).

Each test has queues of its own on the shared broker. Its processes run the project's Celery
app with the test's queue as the default queue, so whatever they queue (beat's sweeps, the
charge after an end, the email after a charge) goes there, or, for the ending sweep, which has
a queue of its own (CELERY_TASK_ROUTES), to a second queue of the test's; the test's own
process is routed the same way while it runs. So no other worker on the broker (another test
run, a local ``make run``, a benchmark) takes the test's tasks, and the test's workers take
nobody else's.
"""

import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

import pytest
import stripe
from celery import Task
from celery.result import AsyncResult, allow_join_result
from celery.signals import after_task_publish
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.server import answers_healthz
from notifications.models import EmailKind, OutboundEmail
from payments.tests import conftest as payments_conftest
from payments.tests.charging import GOOD_CARD
from payments.tests.fake_stripe import FakeStripe, free_port
from reservations.models import Reservation
from reservations.services import confirm_reservation
from reservations.tests.factories import ReservationFactory
from securemyspot.celery import app

# localstripe, keeping what it stores in memory only. As `python -m localstripe` it writes its
# whole store to /tmp/localstripe.pickle after every change: that costs more with each object (a
# few hundred charges in, each takes a quarter of a second), and every localstripe on the machine
# shares the file.
LOCALSTRIPE_COMMAND = [
    sys.executable,
    "-c",
    "from localstripe import resources, server\n"
    "resources.Store.dump_to_disk = lambda store: None\n"
    "server.start()\n",
]

# The engine's processes sweep every second (ENGINE_SWEEP_SECONDS), not every five.
SWEEP_SECONDS = 1.0
# Every wait for the processes is bounded; none of them should take more than a few seconds.
DEADLINE_SECONDS = 45.0
POLL_SECONDS = 0.05
STOP_SECONDS = 10.0

# The project's Celery app with the test's queues (queues_for_test, passed as JSON in
# ENGINE_TEST_CELERY), set before anything else runs: `celery` itself, or gunicorn, whose web
# workers, forked from it, queue their tasks (emails, ends) there too.
_WITH_TEST_QUEUES = (
    "import json, os, sys\n"
    "from securemyspot.celery import app\n"
    "app.conf.update(json.loads(os.environ['ENGINE_TEST_CELERY']))\n"
)
CELERY_COMMAND = [sys.executable, "-c", _WITH_TEST_QUEUES + "sys.exit(app.start(sys.argv[1:]))\n"]
# The Procfile's `socket` role: the live sockets (docs/live.md).
SOCKET_COMMAND = [sys.executable, "-m", "uvicorn", "securemyspot.asgi:application"]
GUNICORN_COMMAND = [
    sys.executable,
    "-c",
    _WITH_TEST_QUEUES + "from gunicorn.app.wsgiapp import run\nsys.exit(run())\n",
]

# How CELERY_BROKER_URL names RabbitMQ.
AMQP = ("amqp", "amqps", "pyamqp")

T = TypeVar("T")


def queues_for_test(queue: str) -> dict[str, object]:
    """Celery settings that send every task to ``queue``, or a task routed to a queue of its
    own (CELERY_TASK_ROUTES) to a queue named after ``queue`` and that one: the test's queues in
    place of the project's."""
    routes = {
        task: {"queue": f"{queue}-{route['queue']}"}
        for task, route in settings.CELERY_TASK_ROUTES.items()
    }
    return {
        "task_default_queue": queue,
        "task_queues": {queue: {}} | {route["queue"]: {} for route in routes.values()},
        "task_routes": routes,
    }


def wait_until(condition: Callable[[], T], what: str, *, timeout: float = DEADLINE_SECONDS) -> T:
    """Poll ``condition`` until it returns something true, and return that; fail the test,
    saying what did not happen, if it has not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (outcome := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"Not within {timeout:.0f} s: {what}")
        time.sleep(POLL_SECONDS)
    return outcome


@dataclass
class CeleryProcess:
    """A ``celery worker``, ``celery beat`` or gunicorn subprocess, leading a process group of
    its own, so that it can be killed together with its pool processes (or web workers)."""

    name: str
    popen: subprocess.Popen
    log: Path
    ready: str  # what it logs once it is ready
    node: str = ""  # a worker's name, for remote control; a web server's URL

    def running(self, task: Task) -> list[int]:
        """The pool processes of the worker running ``task`` now (asked over the broker)."""
        replies = app.control.inspect([self.node], timeout=1).active() or {}
        return [run["worker_pid"] for run in replies.get(self.node, []) if run["name"] == task.name]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self) -> None:
        def logged() -> bool:
            if self.popen.poll() is not None:
                pytest.fail(f"{self.name} exited ({self.popen.returncode}):\n{self.output()}")
            return self.ready in self.output()

        wait_until(logged, f"{self.name} logs {self.ready!r}")

    def kill(self) -> None:
        """SIGKILL to the process and its pool processes at once, as when its machine dies."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_SECONDS)


@dataclass
class Engine:
    """The end-of-reservation engine as it runs in production: workers and beat, started by
    the test, on the test's own queue."""

    queue: str
    directory: Path
    processes: list[CeleryProcess] = field(default_factory=list)
    # (task name, task id) of each task the test's own process queued, in order.
    published: list[tuple[str, str]] = field(default_factory=list)

    @property
    def mail_dir(self) -> Path:
        return self.directory / "mail"

    def start(self, *, workers: int = 1, beats: int = 0) -> list[CeleryProcess]:
        """Start prefork workers on the test's queue, and beat if asked (production runs one;
        more is a mistake the engine must survive), with the test's settings as they are now
        (Stripe: localstripe or the sandbox); return them once every worker consumes and each
        beat has sent its first sweep."""
        started = [self._spawn_worker() for _ in range(workers)]
        started += [self._spawn_beat() for _ in range(beats)]
        for process in started:
            process.wait_until_ready()
        return started

    def start_web(self) -> CeleryProcess:
        """gunicorn, as the Procfile runs it (2 sync workers), on a free loopback port, on the
        test's database and queues; returned once it answers /healthz. Its ``node`` is its base
        URL."""
        server = self._start_server(
            "web",
            "Booting worker",
            lambda port: ["securemyspot.wsgi", "--workers=2", f"--bind=127.0.0.1:{port}"],
            command=GUNICORN_COMMAND,
        )
        port = int(server.node.rsplit(":", 1)[1])
        wait_until(lambda: answers_healthz(port), f"{server.name} answers /healthz")
        return server

    def start_socket(self, *arguments: str, **environment: str) -> CeleryProcess:
        """The socket server, as the Procfile runs it (uvicorn), on a free loopback port, on
        the test's database and Redis, with uvicorn's ``arguments`` and ``environment`` added
        (``LIVE_REPLAY_LIMIT="5"``); returned once it serves. Its ``node`` is its base URL:
        the live socket is at ``live.tests.map_clients.socket_url(node)``."""
        return self._start_server(
            "socket",
            "Uvicorn running",
            lambda port: ["--host=127.0.0.1", f"--port={port}", "--ws-max-size=65536", *arguments],
            command=SOCKET_COMMAND,
            environment=environment,
        )

    def _start_server(
        self,
        kind: str,
        ready: str,
        arguments: Callable[[int], list[str]],
        *,
        command: list[str],
        environment: dict[str, str] | None = None,
    ) -> CeleryProcess:
        """A server of ``kind`` listening on a free loopback port (``arguments(port)``), once it
        logs ``ready``; its ``node`` is its base URL."""
        port = free_port()
        number = sum(process.name.startswith(kind) for process in self.processes) + 1
        server = self._spawn(
            f"{kind} {number}", ready, *arguments(port), command=command, environment=environment
        )
        server.node = f"http://127.0.0.1:{port}"
        server.wait_until_ready()
        return server

    def send(self, task: Task, *args: object) -> AsyncResult:
        return task.apply_async(args=args, queue=self.queue)

    def queued(self, task: Task) -> list[AsyncResult]:
        """The runs of ``task`` the test's own process queued (services queue theirs after
        their commit), oldest first."""
        return [
            AsyncResult(task_id, app=app) for name, task_id in self.published if name == task.name
        ]

    def record_publish(self, sender: str, headers: dict, **kwargs) -> None:
        self.published.append((sender, headers["id"]))

    def sent_emails(self) -> list[EmailMessage]:
        """Every message the processes gave the mail server. Django's file backend writes each
        connection's messages to a file of its own, each message followed by a line of 79
        dashes."""
        separator = b"\n" + b"-" * 79 + b"\n"
        return [
            email.message_from_bytes(raw, policy=email.policy.default)
            for path in sorted(self.mail_dir.glob("*.log"))
            for raw in path.read_bytes().split(separator)
            if raw.strip()
        ]

    def stop(self) -> None:
        """A cold shutdown (SIGQUIT) of every process at once, then SIGKILL for whatever of
        them is still running. Not a warm one: a worker asked to finish what it holds can
        wait for ever on a message it received as the shutdown began."""
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGQUIT)
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=STOP_SECONDS)
            process.kill()

    def _spawn_worker(self) -> CeleryProcess:
        number = sum(process.name.startswith("worker") for process in self.processes) + 1
        node = f"engine{number}-{self.queue}@{socket.gethostname()}"
        worker = self._spawn(
            f"worker {number}",
            " ready.",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            f"--queues={','.join(queues_for_test(self.queue)['task_queues'])}",
            f"--hostname={node}",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        )
        worker.node = node
        return worker

    def _spawn_beat(self) -> CeleryProcess:
        number = sum(process.name.startswith("beat") for process in self.processes) + 1
        return self._spawn(
            f"beat {number}",
            "Sending due task end-due-reservations",
            "beat",
            f"--schedule={self.directory / f'beat-schedule-{number}'}",
            "--loglevel=INFO",
        )

    def _spawn(
        self,
        name: str,
        ready: str,
        *arguments: str,
        command: list[str] = CELERY_COMMAND,
        environment: dict[str, str] | None = None,
    ) -> CeleryProcess:
        log = self.directory / f"{name.replace(' ', '-')}.log"
        with log.open("wb") as output:
            popen = subprocess.Popen(
                [*command, *arguments],
                cwd=settings.BASE_DIR,
                env={**self._environment(), **(environment or {})},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = CeleryProcess(name=name, popen=popen, log=log, ready=ready)
        self.processes.append(process)
        return process

    def _database_url(self) -> str:
        """The test database pytest-django made, on the server DATABASE_URL names (the browser
        tests' stacks, web/tests/browser.py, have databases of their own)."""
        database_url = urlsplit(os.environ["DATABASE_URL"])
        return database_url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()

    def _environment(self) -> dict[str, str]:
        """The test's own configuration, read when a process starts: its database (the test
        database pytest-django made), broker, Redis, Stripe (localstripe or the sandbox) and
        secret key (the links in emails are signed with it)."""
        return {
            **os.environ,
            "DATABASE_URL": self._database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "SITE_URL": settings.SITE_URL,
            "PAYMENT_GATEWAY": settings.PAYMENT_GATEWAY,
            "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": settings.STRIPE_PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
            "STRIPE_API_BASE": settings.STRIPE_API_BASE,
            "EMAIL_URL": f"filemail:///{self.mail_dir}",
            "DATA_DIR": str(self.directory / "data"),
            "ENGINE_SWEEP_SECONDS": str(SWEEP_SECONDS),
            "ENGINE_TEST_CELERY": json.dumps(queues_for_test(self.queue)),
            "LOG_LEVEL": "INFO",
            # Every driver of a test comes from one loopback address: the per-address limits
            # on guest booking (docs/reservations.md, "Hoarding") would stop them, not a hoarder.
            "RESERVATION_UNPAID_HOLDS_PER_ADDRESS": "0",
            "THROTTLE_GUEST_BOOKING": "100000/min",
        }


@pytest.fixture(scope="session", name="localstripe_url")
def localstripe_url_fixture(tmp_path_factory) -> Iterator[str]:
    """The engine's tests' localstripe, started and stopped as payments/tests/conftest.py
    starts its own, on a loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("localstripe") / "server.log"
    with running_server(
        [*LOCALSTRIPE_COMMAND, f"--port={port}", "--from-scratch"],
        log=log,
        ready=lambda: payments_conftest._accepts_connections(port),
        what="localstripe",
    ):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def running_server(
    command: list[str],
    *,
    log: Path,
    ready: Callable[[], bool],
    what: str,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen]:
    """``command`` started with its output in ``log``, waited for until ``ready()`` (a test
    fails naming ``what`` if it exits first), and stopped on leaving the block."""
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: server.poll() is not None or ready(), f"{what} is ready")
        if server.poll() is not None:
            pytest.fail(f"{what} did not start:\n{log.read_text()}")
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# payments/tests/conftest.py's: this test's payments go to localstripe (a conftest's fixtures
# are seen only in its own folder).
fake_stripe_fixture = pytest.fixture(name="fake_stripe")(payments_conftest.fake_stripe.__wrapped__)


def unavailable(reason: str) -> NoReturn:
    """Skips a test that needs a service this machine lacks, except in .ci/run's second pass
    (REQUIRE_POSTGRES), which provides every service: there it fails, so that no engine test
    passes CI by being skipped."""
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail(f"REQUIRE_POSTGRES is set, so this test must run, but it {reason}")
    pytest.skip(reason)


def _delete_queue(name: str) -> None:
    with app.connection_for_write() as broker, suppress(*broker.connection_errors):
        broker.default_channel.queue_delete(name)


@pytest.fixture(name="engine")
def engine_fixture(transactional_db, tmp_path) -> Iterator[Engine]:
    """The test starts the processes it needs (``engine.start(workers=2, beats=1)``);
    they are stopped, before the database is flushed, and the test's queue deleted."""
    if urlsplit(settings.CELERY_BROKER_URL).scheme not in AMQP or not settings.REDIS_URL:
        unavailable(
            "needs RabbitMQ (CELERY_BROKER_URL=amqp://...) and Redis (REDIS_URL) for real "
            "worker processes (apt-get install rabbitmq-server redis-server): runs in "
            ".ci/run's second pass"
        )
    engine = Engine(queue=f"test-engine-{uuid.uuid4().hex}", directory=tmp_path)
    queues = queues_for_test(engine.queue)
    previous = {key: app.conf[key] for key in [*queues, "task_always_eager"]}
    # update(), not assignment: only an update makes Celery rebuild a router it has cached.
    app.conf.update(queues, task_always_eager=False)
    after_task_publish.connect(engine.record_publish, weak=False)
    try:
        # The test waits on its workers' results. An in-process worker started by an earlier
        # test (celery.contrib.testing) can leave this process marked as a worker, whose
        # result.get() Celery refuses; this process is the workers' client, never a task.
        with allow_join_result():
            yield engine
    finally:
        after_task_publish.disconnect(engine.record_publish)
        engine.stop()
        app.conf.update(previous)
        for queue in queues["task_queues"]:
            _delete_queue(queue)


def reservation_with_card(
    fake_stripe: FakeStripe, *, start: datetime, end: datetime, card: str = GOOD_CARD, **fields
) -> Reservation:
    """A reservation confirmed with a card saved at localstripe, long enough ago that no task
    was queued for its end (it was beyond the horizon then): the sweep alone ends it."""
    email_address = f"driver-{uuid.uuid4().hex[:12]}@example.com"
    customer_id, method_id = fake_stripe.saved_card(email_address, card)
    return ReservationFactory(
        confirmed=True,
        email=email_address,
        start_time=start,
        end_time=end,
        stripe_customer_id=customer_id,
        stripe_payment_method_id=method_id,
        card_last4=card[-4:],
        **fields,
    )


def confirm_with_card(
    fake_stripe: FakeStripe, *, start: datetime, end: datetime, card: str = GOOD_CARD
) -> Reservation:
    """A reservation confirmed now, as the card step confirms it: after the commit its
    confirmation email is queued and, its end being near, a task at its end time."""
    reservation = ReservationFactory(
        start_time=start, end_time=end, hold_expires_at=timezone.now() + timedelta(minutes=15)
    )
    customer_id, method_id = fake_stripe.saved_card(reservation.email, card)
    return confirm_reservation(
        reservation_id=reservation.pk,
        customer_id=customer_id,
        payment_method_id=method_id,
        card_brand="visa",
        card_last4=card[-4:],
    )


def finalised(*reservation_ids: int) -> bool:
    """Each reservation is ended, its charge settled and the email saying so sent (the email
    is written in the transaction that settles the charge)."""
    sent = OutboundEmail.objects.filter(
        reservation_id__in=reservation_ids,
        kind__in=(EmailKind.ENDED, EmailKind.PAYMENT_FAILED),
        sent_at__isnull=False,
    )
    return sent.values("reservation_id").distinct().count() == len(reservation_ids)


def payment_intents_by_charge(fake_stripe: FakeStripe) -> dict[int, list[stripe.PaymentIntent]]:
    """Every PaymentIntent at localstripe, by the charge (reservation) id in its metadata."""
    found = defaultdict(list)
    every = fake_stripe.client.v1.payment_intents.list(params={"limit": 100})
    for intent in every.auto_paging_iter():
        if charge_id := intent.metadata.to_dict().get("charge_id"):
            found[int(charge_id)].append(intent)
    return found


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
