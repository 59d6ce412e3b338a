"""The whole service, as `make run` runs it, for browser tests and screenshots.

A ``Stack`` is the Procfile.dev's processes on free loopback ports: gunicorn (API and pages) and
uvicorn (live sockets) behind ``securemyspot/path_router.py`` on one port, a Celery worker and
beat, the sandbox gateway, emails written to a folder the test reads, and a database of its
own: a SQLite file (pass 1) or, when DATABASE_URL names PostgreSQL (pass 2), a database of its
own on that server, dropped at the end. Each stack runs with the settings it is given, so a test
can start a second one (``EMAIL_VERIFICATION="mandatory"``, a short hold) beside the first.

It is the engine tests' ``Engine`` (reservations/tests/workers.py) with two servers more and a
database of its own: the same processes on the test's own queues, stopped the same way.

The stack's processes own its database; a test changes it only for what a driver cannot do
quickly (``expire_hold``, ``end_now``), through SQL in a connection of its own. Never through
Django's ORM: Playwright's sync API keeps an event loop running in the test's thread, where
Django refuses database calls.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings

from bench.server import answers_healthz
from payments.tests.charging import GOOD_CARD
from payments.tests.fake_stripe import free_port
from reservations.tests.workers import (
    _WITH_TEST_QUEUES,
    AMQP,
    Engine,
    _delete_queue,
    queues_for_test,
    text_of,
    wait_until,
)
from web.tests.chromium import MIDTOWN, TILE_URL

# The spots every stack has: the same seed and box always give the same spots (seed_spots).
MIDTOWN_BOX = "40.750,-73.995,40.766,-73.975"
SEEDED_SPOTS = 300

UVICORN_COMMAND = [
    sys.executable,
    "-c",
    _WITH_TEST_QUEUES + "from uvicorn.main import main\nmain()\n",
]
ROUTER_COMMAND = [sys.executable, "-m", "securemyspot.path_router"]
MANAGE_COMMAND = [sys.executable, "manage.py"]

# manage.py shell's code for Stack.add_spots; %r: the spots, as JSON.
ADD_SPOTS = """
import json
from spots.models import ParkingSpot
from spots.services import save_spot
added = [
    save_spot(spot=ParkingSpot(lat=lat, lng=lng, rate=rate), changed=()).pk
    for lat, lng, rate in json.loads(%r)
]
print(json.dumps(added, separators=(",", ":")))
"""

# A password Django's validators accept.
PASSWORD = "kerb-side-42"


@dataclass
class Database:
    """A stack's database, reached by URL: a SQLite file or a PostgreSQL database."""

    url: str

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.url).scheme.startswith("postgres")

    @property
    def sqlite_path(self) -> str:
        # sqlite:////absolute/path: django-environ's absolute form.
        return "/" + urlsplit(self.url).path.lstrip("/")

    def sql(self, query: str, *params: object) -> list[tuple]:
        """Run one statement (``%s`` placeholders) in a transaction of its own; its rows."""
        if self.is_postgres:
            with psycopg.connect(self.url, autocommit=True) as connection:
                cursor = connection.execute(query, params)
                return cursor.fetchall() if cursor.description else []
        stored = [_sqlite_value(param) for param in params]
        with sqlite3.connect(self.sqlite_path, timeout=30) as connection:
            return connection.execute(query.replace("%s", "?"), stored).fetchall()


def _sqlite_value(value: object) -> object:
    # Django's SQLite backend stores aware times as naive UTC text.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


class Databases:
    """The browser tests' databases: one migrated and seeded once (the template), and a copy of
    it for each stack. Pass 1: SQLite files in ``directory``. Pass 2 (DATABASE_URL names
    PostgreSQL): ``<name>_browser`` and ``<name>_browser_<n>`` on that server, so nothing of
    the suite's own test database is touched; all dropped by ``drop_all``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._server = urlsplit(os.environ.get("DATABASE_URL", ""))
        self._template: Database | None = None
        self._made: list[str] = []

    @property
    def on_postgres(self) -> bool:
        return self._server.scheme.startswith("postgres")

    def template(self) -> Database:
        if self._template is None:
            self._template = self._create("")
            runner = Stack(queue=f"browser-{uuid.uuid4().hex}", directory=self.directory)
            runner.database = self._template
            runner.manage("migrate", "--noinput")
            runner.manage("seed_spots", f"--count={SEEDED_SPOTS}", f"--bbox={MIDTOWN_BOX}")
        return self._template

    def copy(self) -> Database:
        """A new database holding what the template holds."""
        template = self.template()
        number = len(self._made)
        if self.on_postgres:
            return self._create(f"_{number}", template=urlsplit(template.url).path.lstrip("/"))
        copied = self.directory / f"stack-{number}.sqlite3"
        shutil.copyfile(template.sqlite_path, copied)
        self._made.append(str(copied))
        return Database(f"sqlite:///{copied}")

    def drop_all(self) -> None:
        if self.on_postgres:
            with self._admin() as admin:
                for name in self._made:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.clear()

    def _create(self, suffix: str, *, template: str = "") -> Database:
        if not self.on_postgres:
            path = self.directory / "template.sqlite3"
            self._made.append(str(path))
            return Database(f"sqlite:///{path}")
        name = f"{self._server.path.lstrip('/')}_browser{suffix}"
        with self._admin() as admin:
            # What an interrupted run left behind goes first.
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            )
        self._made.append(name)
        return Database(self._server._replace(path=f"/{name}").geturl())

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(self._server._replace(path="/postgres").geturl(), autocommit=True)


@dataclass
class Stack(Engine):
    """The service's processes on one database, with the settings in ``overrides``."""

    database: Database | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    base_url: str = ""

    def start_all(self) -> "Stack":
        """Every process of Procfile.dev; returned once the router answers /healthz."""
        socket_port, router_port = free_port(), free_port()
        self.base_url = f"http://127.0.0.1:{router_port}"
        waiting = [
            self._spawn(
                "socket",
                "Uvicorn running on",
                "securemyspot.asgi:application",
                "--host=127.0.0.1",
                f"--port={socket_port}",
                "--ws-max-size=65536",
                "--ws-per-message-deflate=false",
                command=UVICORN_COMMAND,
            ),
            self._spawn_worker(),
            self._spawn_beat(),
        ]
        api_port = urlsplit(self.start_web().node).port
        waiting.append(
            self._spawn(
                "router",
                "Routing",
                f"--listen=127.0.0.1:{router_port}",
                f"--http=127.0.0.1:{api_port}",
                f"--websocket=127.0.0.1:{socket_port}",
                command=ROUTER_COMMAND,
            )
        )
        for process in waiting:
            process.wait_until_ready()
        wait_until(lambda: answers_healthz(router_port), "the stack answers /healthz")
        return self

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # The API, for what a test needs before its page (a reservation in a given state).

    def api(
        self, method: str, path: str, body: object = None, *, token: str = ""
    ) -> tuple[int, object]:
        """One request to the stack; the status and the decoded JSON answer (None if empty)."""
        request = urllib.request.Request(
            self.url(path),
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Token {token}"} if token else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, json.loads(raw) if raw else None

    def call(self, method: str, path: str, body: object = None, *, token: str = "") -> object:
        """``api``, failing the test unless the answer is a 2xx."""
        status, data = self.api(method, path, body, token=token)
        if not 200 <= status < 300:
            pytest.fail(f"{method} {path}: {status} {data}")
        return data

    def free_spot_id(self) -> int:
        """The nearest spot to MIDTOWN that nothing holds now."""
        spots = self.call(
            "GET",
            f"/available-parking-spots-filter?lat={MIDTOWN['latitude']}"
            f"&lng={MIDTOWN['longitude']}&unit=km&dist=2",
        )
        return spots[0]["id"]

    def sign_up(self, email: str, password: str = PASSWORD) -> str:
        """A new account; its API token."""
        credentials = {"email": email, "password": password, "password_confirmation": password}
        return self.call("POST", "/sign-up/", {"credentials": credentials})["token"]

    def book(
        self,
        email: str,
        *,
        minutes: int = 60,
        token: str = "",
        card: str = GOOD_CARD,
        starts_in: timedelta | None = None,
        spot: int | None = None,
    ) -> dict:
        """A reservation of ``spot`` (by default the nearest free spot), as a guest
        (``email``) or signed in (``token``), starting now or ``starts_in`` from now (a booking
        ahead), paid with the sandbox's ``card`` (``""``: left unpaid, pending payment). The
        reservation as the API shows it now."""
        spot = spot or self.free_spot_id()
        body = {"reservation": {"reservation_length": minutes}}
        if starts_in is not None:
            start = datetime.now(UTC) + starts_in
            body["reservation"]["start_time"] = start.isoformat().replace("+00:00", "Z")
        if token:
            reservation = self.call("POST", f"/reservation-auth/{spot}/", body, token=token)
            suffix = f"auth/{reservation['id']}/"
        else:
            body["reservation"]["email"] = email
            reservation = self.call("POST", f"/reservation-unauth/{spot}/", body)
            suffix = f"unauth/{reservation['id']}/{email}/"
        if not card:
            return reservation
        secret = self.call("POST", f"/create-payment-intent-{suffix}", token=token)["clientSecret"]
        setup_intent = secret.split("_secret_")[0]
        self.call(
            "POST",
            f"/sandbox/setup-intents/{setup_intent}/confirm/",
            {"client_secret": secret, "card_number": card},
        )
        self.call("GET", f"/confirm-successful-setup-intent-{suffix}", token=token)
        return self.reservation(reservation["id"], email=email, token=token)

    def reservation(self, reservation_id: int, *, email: str = "", token: str = "") -> dict:
        if token:
            mine = self.call("GET", "/reservation-auth/", token=token)
            ended = self.call("GET", "/expired-reservations-auth/", token=token)
            return next(r for r in [*mine, *ended] if r["id"] == reservation_id)
        return self.call("GET", f"/reservation-unauth/{reservation_id}/{email}/")

    # The database, for what a driver cannot do quickly.

    def sql(self, query: str, *params: object) -> list[tuple]:
        assert self.database is not None
        return self.database.sql(query, *params)

    def manage(self, *arguments: str) -> str:
        """``manage.py`` with the stack's settings and database; its output."""
        done = subprocess.run(
            [*MANAGE_COMMAND, *arguments],
            cwd=Path(__file__).resolve().parents[2],
            env=self._environment(),
            capture_output=True,
            text=True,
        )
        if done.returncode:
            pytest.fail(f"manage.py {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def add_spots(self, *spots: tuple[str, str, str]) -> list[int]:
        """New spots offered now at (lat, lng, hourly rate), as an operator adds them in the
        admin (through ``save_spot``, so live maps hear of them); their ids, in order."""
        return json.loads(self.manage("shell", "-c", ADD_SPOTS % json.dumps(spots)).split()[-1])

    def expire_hold(self, reservation_id: int) -> None:
        """The unpaid hold's time is up now; the hold sweep (every second here) settles it as
        expired."""
        self.sql(
            "UPDATE reservations_reservation SET hold_expires_at = %s WHERE id = %s",
            datetime.now(UTC) - timedelta(seconds=1),
            reservation_id,
        )

    def end_now(self, reservation_id: int, *, lasted: timedelta = timedelta(minutes=30)) -> None:
        """The reservation ends now, as if it had begun ``lasted`` ago (long enough by default
        for a fee above Stripe's smallest charge, so the card is charged, not the fee waived);
        the engine's sweep (every second here) ends and charges it."""
        now = datetime.now(UTC)
        self.sql(
            "UPDATE reservations_reservation SET start_time = %s, end_time = %s WHERE id = %s",
            now - lasted,
            now,
            reservation_id,
        )

    # Emails, as the worker gave them to the mail server.

    def emails_to(self, address: str) -> list[EmailMessage]:
        return [
            message
            for message in self.sent_emails()
            if address.lower() in str(message["To"]).lower()
        ]

    def last_email_to(self, address: str, *, subject: str = "") -> EmailMessage:
        """The newest email to ``address`` (whose subject holds ``subject``), waited for."""

        def found() -> list[EmailMessage]:
            return [m for m in self.emails_to(address) if subject in str(m["Subject"])]

        return wait_until(found, f"an email to {address} with {subject!r} in its subject")[-1]

    def link_in(self, message: EmailMessage, path: str = "/") -> str:
        """The first link in the email's text to this stack under ``path``."""
        for link in re.findall(r"https?://[^\s<>\"')]+", text_of(message)):
            if link.startswith(self.base_url) and urlsplit(link).path.startswith(path):
                return link
        pytest.fail(f"No link to {self.base_url}{path} in:\n{text_of(message)}")

    def _database_url(self) -> str:
        assert self.database is not None
        return self.database.url

    def _environment(self) -> dict[str, str]:
        return {
            **super()._environment(),
            "DEBUG": "false",
            "PAYMENT_GATEWAY": "sandbox",
            # Links in emails lead to the router; a stack not started yet (the template's
            # migrations) keeps the test's.
            "SITE_URL": self.base_url or super()._environment()["SITE_URL"],
            "MAP_TILE_URL": TILE_URL,
            "HOLD_SWEEP_INTERVAL_SECONDS": "1",
            # The session's drivers all sign up, in and book as guests from one address, within
            # minutes (the throttles have tests of their own in accounts/ and reservations/).
            "THROTTLE_SIGN_UP": "off",
            "THROTTLE_SIGN_IN": "off",
            "THROTTLE_GUEST_BOOKING": "off",
            # Counted per account id; in Redis (pass 2) the count outlives the run, and each
            # run's stacks give their new accounts the ids the last run's had.
            "THROTTLE_RESEND_VERIFICATION": "off",
            "LOG_FORMAT": "console",
            **self.overrides,
        }


class Stacks:
    """Stacks started on demand, one per set of settings, all stopped by ``stop_all``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.databases = Databases(directory)
        self._started: dict[tuple[tuple[str, str], ...], Stack] = {}

    def get(self, **overrides: str) -> Stack:
        key = tuple(sorted(overrides.items()))
        if key not in self._started:
            folder = self.directory / f"stack-{len(self._started)}"
            folder.mkdir()
            stack = Stack(
                queue=f"browser-{uuid.uuid4().hex}",
                directory=folder,
                database=self.databases.copy(),
                overrides=dict(overrides),
            )
            self._started[key] = stack
            stack.start_all()
        return self._started[key]

    def stop_all(self) -> None:
        for stack in self._started.values():
            stack.stop()
            # On RabbitMQ the stack's queues outlive it (a filesystem broker's go with its
            # folder).
            if urlsplit(settings.CELERY_BROKER_URL).scheme in AMQP:
                for queue in queues_for_test(stack.queue)["task_queues"]:
                    _delete_queue(queue)
        self._started.clear()
        self.databases.drop_all()
