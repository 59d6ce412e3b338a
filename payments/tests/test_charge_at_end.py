"""When a reservation ends its saved card is charged off-session for the time used, once,
through the real SDK against localstripe; the driver is told what was charged or why not."""

import pytest

from notifications.models import EmailKind, OutboundEmail
from payments import tasks
from payments.links import reservation_id_from
from payments.models import Charge
from payments.services import charging
from payments.tests.charging import (
    AUTHENTICATION_REQUIRED,
    DECLINED_WHEN_CHARGED,
    ended_reservation,
    ended_with_card_at_stripe,
)
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def charge(django_capture_on_commit_callbacks):
    """Charge as the engine's task does, then let the queued emails go out."""

    def run(reservation: Reservation) -> Charge | None:
        with django_capture_on_commit_callbacks(execute=True):
            return charging.charge_for_reservation(reservation_id=reservation.pk)

    return run


def emails(mailoutbox, kind: EmailKind) -> list:
    return [m for m in mailoutbox if m.subject == kind.label]


def test_an_ended_reservation_is_charged_once_for_the_time_used(fake_stripe, charge, mailoutbox):
    reservation = ended_with_card_at_stripe(fake_stripe, amount_cents=1234)

    result = charge(reservation)

    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    assert (intent.amount, intent.currency, intent.status) == (1234, "usd", "succeeded")
    assert intent.customer == reservation.stripe_customer_id
    assert intent.payment_method == reservation.stripe_payment_method_id
    assert result.status == Charge.Status.SUCCEEDED
    assert result.stripe_payment_intent_id == intent.id
    assert result.succeeded_at is not None
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ENDED
    [receipt] = mailoutbox
    assert receipt.subject == "Reservation Has Ended"
    assert "Charged:     $12.34 to your Visa ending 4242" in receipt.body


def test_charging_again_or_by_the_task_charges_nothing_more(fake_stripe, charge, mailoutbox):
    reservation = ended_with_card_at_stripe(fake_stripe)

    charge(reservation)
    charge(reservation)
    tasks.charge_reservation.delay(reservation.pk)

    assert len(fake_stripe.payment_intents_of(reservation.pk)) == 1
    assert Charge.objects.get().status == Charge.Status.SUCCEEDED
    assert len(mailoutbox) == 1


def test_a_fee_under_the_minimum_is_waived_without_asking_stripe(
    stripe_unreachable, charge, mailoutbox
):
    reservation = ended_reservation(amount_cents=49)

    result = charge(reservation)

    assert result.status == Charge.Status.WAIVED
    assert result.amount_cents == 49
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ENDED
    [receipt] = mailoutbox
    assert receipt.subject == "Reservation Has Ended"
    assert "$0.49, under the $0.50 minimum charge, so not charged" in receipt.body


def test_a_waived_fee_sends_nothing_to_stripe(fake_stripe, charge):
    reservation = ended_with_card_at_stripe(fake_stripe, amount_cents=12)

    charge(reservation)

    assert fake_stripe.payment_intents_of(reservation.pk) == []


def test_a_declined_card_fails_the_payment_and_emails_a_link_to_pay(
    fake_stripe, charge, mailoutbox, settings
):
    settings.SITE_URL = "https://securemyspot.example"
    reservation = ended_with_card_at_stripe(fake_stripe, card=DECLINED_WHEN_CHARGED)

    result = charge(reservation)

    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    assert intent.status == "requires_payment_method"
    assert result.status == Charge.Status.FAILED
    assert result.failure_code == "card_declined"
    assert result.stripe_payment_intent_id == intent.id
    assert not result.needs_attention
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.PAYMENT_FAILED
    [notice] = mailoutbox
    assert notice.subject == "Payment Failed: Action Needed"
    assert "Your card was declined." in notice.body
    assert "$12.34" in notice.body
    [link] = [w for w in notice.body.split() if w.startswith("https://securemyspot.example/pay/")]
    assert reservation_id_from(link.split("/")[-2]) == reservation.pk


def test_a_card_needing_authentication_asks_the_driver_to_confirm_the_payment(
    fake_stripe, charge, mailoutbox
):
    reservation = ended_with_card_at_stripe(fake_stripe, card=AUTHENTICATION_REQUIRED)

    result = charge(reservation)

    assert result.status == Charge.Status.REQUIRES_ACTION
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.PAYMENT_FAILED
    [notice] = mailoutbox
    assert "Your bank asks you to confirm this payment." in notice.body
    assert "/pay/" in notice.body


def test_a_vanished_payment_method_is_flagged_for_operators(fake_stripe, charge, mailoutbox):
    reservation = ended_with_card_at_stripe(fake_stripe)
    Reservation.objects.filter(pk=reservation.pk).update(stripe_payment_method_id="pm_gone")

    result = charge(reservation)

    assert fake_stripe.payment_intents_of(reservation.pk) == []
    assert result.status == Charge.Status.FAILED
    assert result.needs_attention
    assert "gone at Stripe" in result.attention_reason
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.PAYMENT_FAILED
    [notice] = mailoutbox
    assert "The card saved for this reservation is no longer available." in notice.body
    assert "/pay/" in notice.body


def test_a_vanished_customer_is_flagged_for_operators(fake_stripe, charge):
    reservation = ended_with_card_at_stripe(fake_stripe)
    Reservation.objects.filter(pk=reservation.pk).update(stripe_customer_id="cus_gone")

    result = charge(reservation)

    assert (result.status, result.needs_attention) == (Charge.Status.FAILED, True)


def test_a_reservation_with_no_saved_card_is_flagged_without_asking_stripe(
    stripe_unreachable, charge, mailoutbox
):
    reservation = ended_reservation(stripe_customer_id="", stripe_payment_method_id="")

    result = charge(reservation)

    assert (result.status, result.needs_attention) == (Charge.Status.FAILED, True)
    assert [m.subject for m in mailoutbox] == ["Payment Failed: Action Needed"]


@pytest.mark.parametrize(
    "status",
    [
        Reservation.Status.PENDING_PAYMENT,
        Reservation.Status.CONFIRMED,
        Reservation.Status.CANCELLED,
    ],
)
def test_a_reservation_that_has_not_ended_is_not_charged(stripe_unreachable, status):
    reservation = ReservationFactory(status=status, amount_cents=1234)

    assert charging.charge_for_reservation(reservation_id=reservation.pk) is None
    assert not Charge.objects.exists()


def test_emails_are_queued_once_per_charge(fake_stripe, charge):
    reservation = ended_with_card_at_stripe(fake_stripe, card=DECLINED_WHEN_CHARGED)

    charge(reservation)
    charge(reservation)

    assert OutboundEmail.objects.filter(reservation=reservation).count() == 1
