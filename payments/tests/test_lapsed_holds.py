from datetime import timedelta

import pytest
from django.utils import timezone

from payments import tasks
from payments.gateways import SandboxGateway
from payments.models import SandboxSetupIntent
from payments.services import card_setup
from payments.tests.fake_stripe import free_port, setup_intent_id_of
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spots.selectors import available_spots

pytestmark = pytest.mark.django_db


def lapse(reservation: Reservation) -> None:
    Reservation.objects.filter(pk=reservation.pk).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )


def start_checkout(client, reservation: Reservation) -> str:
    response = client.post(f"/create-payment-intent-auth/{reservation.pk}/")
    assert response.status_code == 201
    return response.json()["clientSecret"]


def test_an_unpaid_reservation_expires_its_setup_intent_is_cancelled_and_the_spot_freed(
    fake_stripe, driver_client, booking
):
    secret = start_checkout(driver_client, booking)
    lapse(booking)

    outcomes = tasks.resolve_lapsed_holds.delay().get()

    assert outcomes == {"expired": 1}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.EXPIRED
    assert fake_stripe.setup_intent(setup_intent_id_of(secret)).status == "canceled"
    assert booking.spot in available_spots()


def test_a_card_saved_without_the_client_confirming_confirms_instead(
    fake_stripe, driver_client, booking, mailoutbox, django_capture_on_commit_callbacks
):
    # The browser client saves the card with Stripe.js and never calls the confirm route, and
    # the webhook was lost: the sweep asks Stripe before giving the spot away.
    fake_stripe.save_card(start_checkout(driver_client, booking))
    lapse(booking)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = card_setup.resolve_lapsed_holds()

    assert outcomes == {"confirmed": 1}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
    assert booking.card_last4 == "4242"
    assert [m.subject for m in mailoutbox] == ["Reservation Confirmation"]
    assert booking.spot not in available_spots()


def test_a_reservation_that_never_reached_checkout_expires(fake_stripe, booking):
    lapse(booking)

    assert card_setup.resolve_lapsed_holds() == {"expired": 1}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.EXPIRED


def test_a_hold_not_yet_lapsed_is_left_alone(fake_stripe, driver_client, booking):
    secret = start_checkout(driver_client, booking)

    assert card_setup.resolve_lapsed_holds() == {}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT
    assert fake_stripe.setup_intent(setup_intent_id_of(secret)).status == "requires_payment_method"


def test_confirmed_and_cancelled_reservations_are_not_touched(fake_stripe):
    past = timezone.now() - timedelta(minutes=1)
    confirmed = ReservationFactory(confirmed=True, hold_expires_at=past)
    cancelled = ReservationFactory(status=Reservation.Status.CANCELLED, hold_expires_at=past)

    assert card_setup.resolve_lapsed_holds() == {}
    confirmed.refresh_from_db()
    cancelled.refresh_from_db()
    assert (confirmed.status, cancelled.status) == ("confirmed", "cancelled")


def test_with_stripe_unreachable_holds_wait_for_the_next_sweep(
    fake_stripe, driver_client, driver, booking, settings
):
    other = ReservationFactory(user=driver, email=driver.email)
    secrets = [start_checkout(driver_client, b) for b in (booking, other)]
    lapse(booking)
    lapse(other)
    localstripe = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    # The sweep stops at the first failure rather than wait on Stripe for every hold.
    assert card_setup.resolve_lapsed_holds() == {"deferred": 1}
    assert set(Reservation.objects.values_list("status", flat=True)) == {"pending_payment"}

    settings.STRIPE_API_BASE = localstripe
    assert card_setup.resolve_lapsed_holds() == {"expired": 2}
    for secret in secrets:
        assert fake_stripe.setup_intent(setup_intent_id_of(secret)).status == "canceled"


def test_a_sweep_takes_at_most_a_batch(fake_stripe):
    past = timezone.now() - timedelta(minutes=1)
    for _ in range(3):
        ReservationFactory(hold_expires_at=past)

    assert card_setup.resolve_lapsed_holds(batch_size=2) == {"expired": 2}
    assert card_setup.resolve_lapsed_holds(batch_size=2) == {"expired": 1}


def test_the_sandbox_cancels_the_setup_intent_of_a_lapsed_hold(sandbox, api_client):
    booking = ReservationFactory()
    secret = api_client.post(f"/create-payment-intent-unauth/{booking.pk}/{booking.email}/").json()[
        "clientSecret"
    ]
    lapse(booking)

    assert card_setup.resolve_lapsed_holds() == {"expired": 1}
    intent = SandboxSetupIntent.objects.get(pk=setup_intent_id_of(secret))
    assert intent.status == SandboxSetupIntent.Status.CANCELED


class CardSavedAtTheLastMoment(SandboxGateway):
    """The driver's card goes through just as the sweep cancels their SetupIntent."""

    def cancel_setup_intent(self, setup_intent_id: str, *, idempotency_key: str):
        secret = SandboxSetupIntent.objects.get(pk=setup_intent_id).client_secret
        self.confirm_setup_intent(
            setup_intent_id, client_secret=secret, card_number="4242424242424242"
        )
        return super().cancel_setup_intent(setup_intent_id, idempotency_key=idempotency_key)


def test_a_card_saved_while_the_hold_lapses_confirms_the_reservation(
    sandbox, api_client, monkeypatch
):
    booking = ReservationFactory()
    api_client.post(f"/create-payment-intent-unauth/{booking.pk}/{booking.email}/")
    lapse(booking)
    monkeypatch.setattr(card_setup, "get_gateway", CardSavedAtTheLastMoment)

    assert card_setup.resolve_lapsed_holds() == {"confirmed": 1}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
