"""RabbitMQ restarted while reservations fall due: once it is back the worker and beat
reconnect on their own (broker_connection_retry) and every reservation is ended, charged and
emailed. The database is the source of truth: none of it depends on a message that was in
flight.

The test stops the RabbitMQ application on this machine's node (`rabbitmqctl stop_app`) for a
few seconds, so any other client of that broker sees the outage too; the CI machine runs
nothing else on it."""

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from reservations.models import Reservation
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    SWEEP_SECONDS,
    confirm_with_card,
    engine_fixture,
    fake_stripe_fixture,
    finalised,
    localstripe_url_fixture,
    payment_intents_by_charge,
    reservation_with_card,
    unavailable,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RABBITMQCTL_SECONDS = 60


def rabbitmqctl(command: str) -> None:
    subprocess.run(
        ["rabbitmqctl", command], check=True, capture_output=True, timeout=RABBITMQCTL_SECONDS
    )


@contextmanager
def broker_stopped() -> Iterator[None]:
    """RabbitMQ's node keeps running, its broker does not: connections are closed and refused,
    durable queues and persistent messages are kept for its return."""
    rabbitmqctl("stop_app")
    try:
        yield
    finally:
        rabbitmqctl("start_app")


def clock_passes(moment: datetime) -> bool:
    return timezone.now() > moment


@pytest.fixture
def rabbitmqctl_on_path() -> None:
    if shutil.which("rabbitmqctl") is None:
        unavailable(
            "needs rabbitmqctl (apt-get install rabbitmq-server), to restart the RabbitMQ "
            "broker of this machine"
        )


@pytest.mark.usefixtures("rabbitmqctl_on_path")
def test_reservations_due_while_the_broker_is_down_are_finalised_once_it_is_back(
    engine, fake_stripe
):
    engine.start(beats=1)
    now = timezone.now()
    # Confirmed before the outage: the worker holds the tasks at their end times, unacknowledged,
    # when RabbitMQ goes; RabbitMQ keeps them for its return.
    queued_before = [
        confirm_with_card(
            fake_stripe, start=now - timedelta(hours=1), end=now + timedelta(seconds=3)
        )
        for _ in range(2)
    ]

    with broker_stopped():
        due_during = timezone.now() + timedelta(seconds=1)
        # Confirmed long ago, with no task: only a sweep after the outage can end them.
        sweep_only = [
            reservation_with_card(fake_stripe, start=now - timedelta(hours=1), end=due_during)
            for _ in range(2)
        ]
        last_end = max(r.end_time for r in [*queued_before, *sweep_only])
        wait_until(
            lambda: clock_passes(last_end + timedelta(seconds=2 * SWEEP_SECONDS)),
            "every reservation falls due while the broker is down",
        )
        for reservation in sweep_only:
            reservation.refresh_from_db()
            assert reservation.status == Reservation.Status.CONFIRMED

    ids = [r.pk for r in [*queued_before, *sweep_only]]
    wait_until(lambda: finalised(*ids), "every reservation is ended, charged and emailed")
    assert not Reservation.objects.filter(pk__in=ids, status__in=Reservation.LIVE_STATUSES).exists()
    intents = payment_intents_by_charge(fake_stripe)
    assert {pk: [i.status for i in intents[pk]] for pk in ids} == {pk: ["succeeded"] for pk in ids}
    receipts = [m["To"] for m in engine.sent_emails() if m["Subject"] == "Reservation Has Ended"]
    assert sorted(receipts) == sorted(r.email for r in [*queued_before, *sweep_only])
