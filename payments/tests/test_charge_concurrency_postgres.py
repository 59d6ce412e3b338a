"""Workers charging one reservation at once (a redelivered task beside the sweep, two
workers) charge it once: the charge's unique record and its lease, not Stripe's idempotency
keys (localstripe does not replay them), keep the others from calling Stripe."""

import threading
from contextlib import suppress

import pytest
from django.db import connection

from notifications.models import EmailKind, OutboundEmail
from payments.models import Charge
from payments.services import charging, recovery
from payments.tests.charging import DECLINED_WHEN_CHARGED, ended_with_card_at_stripe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 4


def at_once(target, count: int = WORKERS) -> list[BaseException]:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_workers_charging_one_reservation_at_once_charge_it_once(fake_stripe):
    reservation = ended_with_card_at_stripe(fake_stripe)

    errors = at_once(lambda: charging.charge_for_reservation(reservation_id=reservation.pk))

    assert errors == []
    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1
    assert Charge.objects.get().status == Charge.Status.SUCCEEDED
    assert OutboundEmail.objects.filter(kind=EmailKind.ENDED).count() == 1


def test_sweeps_and_tasks_at_once_record_one_failure_and_one_email(fake_stripe):
    reservation = ended_with_card_at_stripe(fake_stripe, card=DECLINED_WHEN_CHARGED)
    later = reservation.finished_at + charging.CHARGE_SWEEP_GRACE * 2

    def task_or_sweep() -> None:
        charging.charge_for_reservation(reservation_id=reservation.pk, now=later)
        charging.retry_due_charges(now=later)

    assert at_once(task_or_sweep) == []

    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1
    assert Charge.objects.get().status == Charge.Status.FAILED
    assert OutboundEmail.objects.filter(kind=EmailKind.PAYMENT_FAILED).count() == 1


def test_drivers_retrying_in_two_tabs_share_one_payment(fake_stripe):
    reservation = ended_with_card_at_stripe(fake_stripe, card=DECLINED_WHEN_CHARGED)
    charging.charge_for_reservation(reservation_id=reservation.pk)
    secrets: list[str] = []

    def retry() -> None:
        # A tab refused as busy is told to try again in a moment.
        with suppress(recovery.PaymentBusy):
            secrets.append(
                recovery.start_payment_recovery(reservation_id=reservation.pk).client_secret
            )

    assert at_once(retry) == []

    secrets.append(recovery.start_payment_recovery(reservation_id=reservation.pk).client_secret)
    assert len(set(secrets)) == 1
    # The failed off-session one and the one to pay in the browser.
    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 2


def test_batches_overlapping_at_once_charge_each_reservation_once(fake_stripe):
    reservations = [ended_with_card_at_stripe(fake_stripe) for _ in range(6)]
    ids = [reservation.pk for reservation in reservations]
    # Each worker has the same reservations in a different order and a different cut.
    batches = iter([ids, ids[::-1], ids[2:] + ids[:2], ids[3:]])

    assert at_once(lambda: charging.charge_for_reservations(reservation_ids=next(batches))) == []

    assert [len(fake_stripe.payment_intents_of(pk)) for pk in ids] == [1] * len(ids)
    assert set(Charge.objects.values_list("status", flat=True)) == {Charge.Status.SUCCEEDED}
    receipts = OutboundEmail.objects.filter(kind=EmailKind.ENDED)
    assert sorted(receipts.values_list("reservation_id", flat=True)) == sorted(ids)
