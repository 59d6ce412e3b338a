"""Delivery is at least once (docs/tasks.md), so the same finalising task may reach two worker
processes at once. Here it does: it is sent once for each pool process of two prefork
workers, and the reservation is still ended once, charged once at localstripe (which, unlike
Stripe, does not replay idempotency keys) and emailed once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.tasks import charge_reservation, charge_reservations
from payments.tests.charging import ended_with_card_at_stripe
from reservations.models import Reservation
from reservations.tasks import end_reservation
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    DEADLINE_SECONDS,
    engine_fixture,
    fake_stripe_fixture,
    finalised,
    localstripe_url_fixture,
    reservation_with_card,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Two workers of two pool processes each: with a prefetch of one per process, RabbitMQ hands
# each process one of the copies.
WORKERS = 2
COPIES = 4


def test_an_end_task_run_by_two_workers_at_once_ends_charges_and_emails_once(engine, fake_stripe):
    workers = engine.start(workers=WORKERS)
    now = timezone.now()
    reservation = reservation_with_card(fake_stripe, start=now - timedelta(hours=1), end=now)

    runs = [
        engine.send(end_reservation, reservation.pk, reservation.end_time.isoformat())
        for _ in range(COPIES)
    ]

    assert sorted(run.get(timeout=DEADLINE_SECONDS) for run in runs) == [False] * 3 + [True]
    assert all(f"{end_reservation.name}[" in worker.output() for worker in workers)
    wait_until(lambda: finalised(reservation.pk), "the reservation is charged and emailed")
    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1
    assert [m["Subject"] for m in engine.sent_emails()] == ["Reservation Has Ended"]


def test_a_charge_task_run_by_two_workers_at_once_charges_and_emails_once(engine, fake_stripe):
    workers = engine.start(workers=WORKERS)
    reservation = ended_with_card_at_stripe(fake_stripe, amount_cents=1234)

    runs = [engine.send(charge_reservation, reservation.pk) for _ in range(COPIES)]

    # Each run returns the charge as it found it: one paid it; the others found it leased to
    # that one (pending still) or already paid.
    assert "succeeded" in [run.get(timeout=DEADLINE_SECONDS) for run in runs]
    assert all(f"{charge_reservation.name}[" in worker.output() for worker in workers)
    wait_until(lambda: finalised(reservation.pk), "the receipt is sent")
    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    assert (intent.amount, intent.status) == (1234, "succeeded")
    assert [m["Subject"] for m in engine.sent_emails()] == ["Reservation Has Ended"]


def test_a_batch_charge_task_run_by_two_workers_at_once_charges_and_emails_each_once(
    engine, fake_stripe
):
    workers = engine.start(workers=WORKERS)
    ids = [ended_with_card_at_stripe(fake_stripe, amount_cents=1234).pk for _ in range(5)]

    for _ in range(COPIES):
        engine.send(charge_reservations, ids)

    wait_until(lambda: finalised(*ids), "every receipt is sent")
    wait_until(
        lambda: all(f"{charge_reservations.name}[" in worker.output() for worker in workers),
        "both workers ran the batch",
    )
    assert [len(fake_stripe.payment_intents_of(pk)) for pk in ids] == [1] * len(ids)
    assert sorted(m["To"] for m in engine.sent_emails()) == sorted(
        Reservation.objects.filter(pk__in=ids).values_list("email", flat=True)
    )
