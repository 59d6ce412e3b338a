"""Payments are tested against localstripe, a fake Stripe server, over HTTP through the real
SDK: nothing in the SDK is patched. One localstripe serves the whole session; tests tell their
objects apart by email and by the reservation id in each SetupIntent's metadata."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.tests.factories import UserFactory, signed_in_client
from payments.tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, free_port
from reservations.tests.factories import ReservationFactory

STARTUP_DEADLINE_SECONDS = 30


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("localstripe") / "server.log"
    with log_path.open("wb") as log:
        # --from-scratch: start empty rather than from the state another run left in /tmp.
        server = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while not _accepts_connections(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"localstripe did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def fake_stripe(settings, localstripe_url) -> FakeStripe:
    """This test's payments go to localstripe."""
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    return FakeStripe(localstripe_url)


@pytest.fixture
def stripe_unreachable(settings) -> None:
    """Stripe's address is a loopback port nobody listens on."""
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def sandbox(settings) -> None:
    """No Stripe keys: the built-in sandbox gateway is in use."""
    settings.PAYMENT_GATEWAY = "sandbox"
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""


@pytest.fixture
def driver(db):
    # Emails differ from test to test, so each test finds only its own customers at localstripe.
    return UserFactory()


@pytest.fixture
def driver_client(driver):
    client, _ = signed_in_client(driver)
    return client


@pytest.fixture
def booking(driver):
    """The signed-in driver's reservation, awaiting payment."""
    return ReservationFactory(user=driver, email=driver.email)


@pytest.fixture
def guest_booking(db):
    return ReservationFactory()
