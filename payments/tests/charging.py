"""Ended reservations to charge, with their cards saved at localstripe or in the sandbox."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from payments.gateways.sandbox import TEST_CARDS
from payments.models import SandboxCustomer, SandboxPaymentMethod
from payments.services import charging
from payments.tests.fake_stripe import FakeStripe
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

GOOD_CARD = "4242424242424242"
# Saved without trouble; declined when charged (Stripe's and localstripe's test card).
DECLINED_WHEN_CHARGED = "4000000000000341"
# The bank asks for 3-D Secure on every payment.
AUTHENTICATION_REQUIRED = "4000002760003184"


def ended_reservation(*, amount_cents: int = 1234, **fields) -> Reservation:
    """A confirmed reservation of an hour that has just ended, with the fee the engine fixed."""
    now = timezone.now()
    return ReservationFactory(
        confirmed=True,
        status=Reservation.Status.ENDED,
        start_time=now - timedelta(hours=1),
        end_time=now,
        finished_at=now,
        amount_cents=amount_cents,
        fee_waived=amount_cents < 50,
        **fields,
    )


def ended_with_card_at_stripe(
    fake_stripe: FakeStripe, *, card: str = GOOD_CARD, **fields
) -> Reservation:
    reservation = ended_reservation(**fields)
    customer_id, method_id = fake_stripe.saved_card(reservation.email, card)
    Reservation.objects.filter(pk=reservation.pk).update(
        stripe_customer_id=customer_id,
        stripe_payment_method_id=method_id,
        card_last4=card[-4:],
    )
    reservation.refresh_from_db()
    return reservation


def ended_with_card_in_sandbox(*, card: str = GOOD_CARD, **fields) -> Reservation:
    reservation = ended_reservation(**fields)
    customer = SandboxCustomer.objects.create(id=f"cus_sandbox_{reservation.pk}", email="x@y.z")
    method = SandboxPaymentMethod.objects.create(
        id=f"pm_sandbox_{reservation.pk}",
        brand=TEST_CARDS[card].brand,
        last4=card[-4:],
        charge_outcome=TEST_CARDS[card].charge_outcome,
    )
    Reservation.objects.filter(pk=reservation.pk).update(
        stripe_customer_id=customer.id, stripe_payment_method_id=method.id, card_last4=card[-4:]
    )
    reservation.refresh_from_db()
    return reservation


def minutes_later(minutes: float, *, after: datetime | None = None) -> datetime:
    return (after or timezone.now()) + timedelta(minutes=minutes)


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even an ``except Exception``."""


def charge_and_die_before_recording(monkeypatch: pytest.MonkeyPatch, reservation: Reservation):
    """Charge as a worker killed the moment Stripe answered: the payment is made at Stripe,
    nothing of it recorded here, and the dead worker's lease still held."""

    def killed(*args, **kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(charging, "record_charge_results", killed)
        with pytest.raises(WorkerKilled):
            charging.charge_for_reservation(reservation_id=reservation.pk)
