"""A worker killed with SIGKILL in the middle of a batch of charges loses nothing and repeats
nothing: its unacknowledged tasks are delivered again (acks_late, reject_on_worker_lost), and
the charges it was sending when it died, still leased to it, are taken up by the charge sweep
once their lease lapses, after a look at localstripe for what it had already sent there.

Waiting five minutes for a dead worker's lease (CHARGE_LEASE) to lapse is the design; the
tests play the minute sweep (``retry_due_charges``) at that later time instead, once nothing
but those leases is left, so that the sweep cannot take a charge a live worker is sending."""

import os
import signal
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from notifications.models import EmailKind, OutboundEmail
from payments.models import Charge
from payments.services.charging import CHARGE_LEASE, retry_due_charges
from payments.tasks import charge_reservations
from reservations.models import Reservation
from reservations.tasks import end_due_reservations
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    CeleryProcess,
    Engine,
    engine_fixture,
    fake_stripe_fixture,
    localstripe_url_fixture,
    payment_intents_by_charge,
    reservation_with_card,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RESERVATIONS = 120
# Killed once this many are paid: well into the batch, and well before its end.
KILLED_AFTER = RESERVATIONS // 5


@pytest.fixture
def due(fake_stripe) -> list[int]:
    """Reservations whose end has passed, each with its driver's card at localstripe."""
    now = timezone.now()
    return [
        reservation_with_card(fake_stripe, start=now - timedelta(hours=1), end=now).pk
        for _ in range(RESERVATIONS)
    ]


def paid(reservation_ids: list[int]) -> int:
    return Charge.objects.filter(pk__in=reservation_ids, status=Charge.Status.SUCCEEDED).count()


def start_the_batch_and_wait_until_a_charge_is_being_sent(
    engine: Engine, worker: CeleryProcess, due: list[int]
) -> int:
    """The sweep ends every reservation in one batch and queues their charges, 50 to a task;
    wait until a good part of them is paid and a pool process of the worker is sending a batch
    to localstripe, the moment to be killed. Returns that process."""
    engine.send(end_due_reservations)

    def charging() -> int | None:
        if paid(due) < KILLED_AFTER:
            return None
        return next(iter(worker.running(charge_reservations)), None)

    return wait_until(
        charging, f"{KILLED_AFTER} reservations are paid and another is being charged"
    )


def settle_what_the_killed_process_left(due: list[int], killed_at: datetime) -> None:
    """Once every reservation is paid or its charge is leased to the killed process (a lease
    taken before it died ends before ``killed_at + CHARGE_LEASE``; one taken by a live process
    after), run the charge sweep as it runs when those leases have lapsed."""
    leased_to_the_dead = killed_at + CHARGE_LEASE

    def only_dead_leases_left() -> bool:
        unpaid = Reservation.objects.filter(pk__in=due).exclude(
            charge__status=Charge.Status.SUCCEEDED
        )
        return not unpaid.exclude(charge__claimed_until__lte=leased_to_the_dead).exists()

    wait_until(only_dead_leases_left, "every charge is paid or leased to the killed process")
    retry_due_charges(now=leased_to_the_dead + timedelta(seconds=1))
    # The sweep charges for CHARGE_BATCH_SECONDS and queues the rest as a task for the workers,
    # which on a busy machine is some of them.
    wait_until(lambda: paid(due) == RESERVATIONS, "the workers charge what the sweep left")


def assert_each_finalised_once(due: list[int], fake_stripe) -> None:
    assert not Reservation.objects.filter(pk__in=due, status__in=Reservation.LIVE_STATUSES).exists()
    assert paid(due) == RESERVATIONS
    intents = payment_intents_by_charge(fake_stripe)
    assert {pk: [i.status for i in intents[pk]] for pk in due} == {pk: ["succeeded"] for pk in due}
    receipts = OutboundEmail.objects.filter(kind=EmailKind.ENDED, reservation_id__in=due)
    assert sorted(receipts.values_list("reservation_id", flat=True)) == sorted(due)


def test_a_worker_killed_mid_batch_and_replaced_charges_every_reservation_once(
    engine, fake_stripe, due
):
    [worker] = engine.start()
    start_the_batch_and_wait_until_a_charge_is_being_sent(engine, worker, due)

    worker.kill()
    killed_at = timezone.now()
    assert paid(due) < RESERVATIONS, "the batch was over before the worker was killed"
    engine.start()
    settle_what_the_killed_process_left(due, killed_at)

    assert_each_finalised_once(due, fake_stripe)


def test_a_pool_process_killed_mid_batch_has_its_work_redone_once(engine, fake_stripe, due):
    [worker] = engine.start()
    charging = start_the_batch_and_wait_until_a_charge_is_being_sent(engine, worker, due)

    os.kill(charging, signal.SIGKILL)
    killed_at = timezone.now()
    assert paid(due) < RESERVATIONS, "the batch was over before the process was killed"
    settle_what_the_killed_process_left(due, killed_at)

    assert_each_finalised_once(due, fake_stripe)
