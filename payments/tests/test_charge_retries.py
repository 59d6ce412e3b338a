"""Stripe down, a worker killed mid-charge, a task lost, a mail server down: the charge still
happens exactly once, later. localstripe does not replay idempotency keys, so these counts at
localstripe show the service's own records at work."""

import pytest

from notifications.services import deliver_pending_emails
from notifications.tests.mail_backends import UNREACHABLE
from payments.gateways import PaymentGatewayUnavailable
from payments.models import Charge
from payments.services import charging
from payments.tests.charging import (
    charge_and_die_before_recording,
    ended_with_card_at_stripe,
    minutes_later,
)
from payments.tests.fake_stripe import free_port
from reservations.models import Reservation

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def stripe_goes_down(settings, fake_stripe):
    def down() -> None:
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    return down


def test_stripe_unreachable_leaves_the_charge_to_retry_and_it_is_charged_once_later(
    fake_stripe, stripe_goes_down, settings, mailoutbox, django_capture_on_commit_callbacks
):
    reservation = ended_with_card_at_stripe(fake_stripe)
    stripe_goes_down()

    with pytest.raises(PaymentGatewayUnavailable):
        charging.charge_for_reservation(reservation_id=reservation.pk)

    charge = Charge.objects.get()
    assert charge.status == Charge.Status.RETRYING
    assert charge.claimed_until is None
    assert charge.next_attempt_at > minutes_later(0.5)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ENDED  # the spot is free all the same

    settings.STRIPE_API_BASE = fake_stripe.url
    assert charging.retry_due_charges(now=minutes_later(0.5)) == 0  # not due yet
    assert fake_stripe.payment_intents_of(reservation.pk) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert charging.retry_due_charges(now=minutes_later(2)) == 1
    assert charging.retry_due_charges(now=minutes_later(120)) == 0

    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1
    assert Charge.objects.get().status == Charge.Status.SUCCEEDED
    assert [m.subject for m in mailoutbox] == ["Reservation Has Ended"]


def test_a_worker_killed_after_stripe_charged_is_reconciled_not_charged_again(
    fake_stripe, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    reservation = ended_with_card_at_stripe(fake_stripe)
    charge_and_die_before_recording(monkeypatch, reservation)
    [paid] = fake_stripe.payment_intents_of(reservation.pk)

    # The redelivered task finds the dead worker's lease still held and leaves it alone.
    assert charging.charge_for_reservation(reservation_id=reservation.pk).is_open
    # Once the lease lapses the sweep finds the payment at Stripe instead of paying again.
    with django_capture_on_commit_callbacks(execute=True):
        assert charging.retry_due_charges(now=minutes_later(6)) == 1

    assert [i.id for i in fake_stripe.payment_intents_of(reservation.pk)] == [paid.id]
    charge = Charge.objects.get()
    assert (charge.status, charge.stripe_payment_intent_id) == (Charge.Status.SUCCEEDED, paid.id)
    assert [m.subject for m in mailoutbox] == ["Reservation Has Ended"]


def test_a_worker_killed_before_reaching_stripe_has_the_charge_sent_later(fake_stripe):
    reservation = ended_with_card_at_stripe(fake_stripe)
    Charge.objects.create(
        reservation=reservation,
        amount_cents=1234,
        currency="usd",
        last_sent_at=minutes_later(-10),
        claimed_until=minutes_later(-5),
        next_attempt_at=minutes_later(-8),
    )

    assert charging.retry_due_charges() == 1

    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1
    assert Charge.objects.get().status == Charge.Status.SUCCEEDED


def test_the_sweep_charges_an_ended_reservation_whose_task_was_lost(fake_stripe):
    reservation = ended_with_card_at_stripe(fake_stripe)

    assert charging.retry_due_charges(now=minutes_later(1)) == 0  # its task may still come
    assert charging.retry_due_charges(now=minutes_later(3)) == 1

    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1


def test_the_sweep_leaves_reservations_that_ended_long_ago_to_operators(fake_stripe):
    reservation = ended_with_card_at_stripe(fake_stripe)

    assert charging.retry_due_charges(now=minutes_later(8 * 24 * 60)) == 0

    assert not Charge.objects.filter(pk=reservation.pk).exists()


def test_with_the_mail_server_down_the_receipt_is_sent_later_and_the_charge_made_once(
    fake_stripe, settings, mailoutbox, django_capture_on_commit_callbacks
):
    reservation = ended_with_card_at_stripe(fake_stripe)
    settings.EMAIL_BACKEND = UNREACHABLE

    with django_capture_on_commit_callbacks(execute=True):
        charge = charging.charge_for_reservation(reservation_id=reservation.pk)

    assert charge.status == Charge.Status.SUCCEEDED
    assert mailoutbox == []
    settings.EMAIL_BACKEND = LOCMEM
    assert deliver_pending_emails(now=minutes_later(120)) == 1
    assert charging.retry_due_charges(now=minutes_later(120)) == 0

    assert [m.subject for m in mailoutbox] == ["Reservation Has Ended"]
    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1


def test_after_many_failed_tries_operators_are_told_and_retries_go_on(
    fake_stripe, stripe_goes_down
):
    reservation = ended_with_card_at_stripe(fake_stripe)
    stripe_goes_down()
    Charge.objects.create(
        reservation=reservation,
        amount_cents=1234,
        currency="usd",
        status=Charge.Status.RETRYING,
        tries=charging.CHARGE_TRIES_BEFORE_ATTENTION - 1,
        next_attempt_at=minutes_later(-1),
    )

    assert charging.retry_due_charges() == 0

    charge = Charge.objects.get()
    assert (charge.status, charge.needs_attention) == (Charge.Status.RETRYING, True)
    assert charge.next_attempt_at > minutes_later(59)
