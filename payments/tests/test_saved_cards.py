"""A driver who saved a card through the browser client, which never calls the confirm route,
is confirmed within a minute even when no webhook arrives: the sweep asks Stripe."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments import tasks
from payments.gateways import SandboxGateway
from payments.models import SetupAttempt
from payments.services import card_setup
from payments.tests.fake_stripe import free_port, setup_intent_id_of
from reservations.models import Reservation

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def start_checkout(client, reservation: Reservation) -> str:
    response = client.post(f"/create-payment-intent-auth/{reservation.pk}/")
    assert response.status_code == 201
    return response.json()["clientSecret"]


def confirmations(mailoutbox) -> list:
    return [m for m in mailoutbox if m.subject == "Reservation Confirmation"]


def test_a_card_saved_without_a_word_from_the_client_is_confirmed_within_a_minute(
    fake_stripe, driver_client, booking, mailoutbox, django_capture_on_commit_callbacks
):
    fake_stripe.save_card(start_checkout(driver_client, booking))

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = tasks.confirm_saved_cards.delay().get()  # beat, at checkout: not due yet
        later = card_setup.confirm_saved_cards(now=timezone.now() + MINUTE)

    assert outcomes == {}
    assert later == {"confirmed": 1}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
    assert booking.card_last4 == "4242"
    assert len(confirmations(mailoutbox)) == 1


def test_a_card_not_yet_saved_is_asked_about_again_a_minute_later(
    fake_stripe, driver_client, booking, mailoutbox, django_capture_on_commit_callbacks
):
    secret = start_checkout(driver_client, booking)
    first_look = timezone.now() + MINUTE

    assert card_setup.confirm_saved_cards(now=first_look) == {"awaiting_card": 1}
    assert card_setup.confirm_saved_cards(now=first_look + MINUTE / 2) == {}

    fake_stripe.save_card(secret)
    with django_capture_on_commit_callbacks(execute=True):
        assert card_setup.confirm_saved_cards(now=first_look + MINUTE) == {"confirmed": 1}
        assert card_setup.confirm_saved_cards(now=first_look + 2 * MINUTE) == {}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
    assert len(confirmations(mailoutbox)) == 1


def test_a_reservation_confirmed_by_the_client_is_not_asked_about(
    fake_stripe, driver_client, booking, mailoutbox, django_capture_on_commit_callbacks
):
    fake_stripe.save_card(start_checkout(driver_client, booking))
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/").status_code
            == 204
        )
        assert card_setup.confirm_saved_cards(now=timezone.now() + MINUTE) == {}

    assert len(confirmations(mailoutbox)) == 1


def test_a_lapsed_hold_is_left_to_the_hold_sweep(fake_stripe, driver_client, booking):
    fake_stripe.save_card(start_checkout(driver_client, booking))
    Reservation.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now())

    assert card_setup.confirm_saved_cards(now=timezone.now() + MINUTE) == {}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT


def test_stripe_unreachable_leaves_the_look_for_a_later_sweep(
    fake_stripe, driver_client, booking, settings
):
    secret = start_checkout(driver_client, booking)
    fake_stripe.save_card(secret)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    first_look = timezone.now() + MINUTE

    assert card_setup.confirm_saved_cards(now=first_look) == {}

    settings.STRIPE_API_BASE = fake_stripe.url
    assert card_setup.confirm_saved_cards(now=first_look + MINUTE) == {"confirmed": 1}


def test_every_setup_intent_is_first_looked_at_within_a_minute_of_its_creation(
    fake_stripe, driver_client, booking, settings
):
    start_checkout(driver_client, booking)
    attempt = SetupAttempt.objects.get(reservation=booking)
    sweep = settings.CELERY_BEAT_SCHEDULE["confirm-saved-cards"]["schedule"]

    assert attempt.next_check_at - attempt.created_at + timedelta(seconds=sweep) <= MINUTE


def test_with_the_sandbox_a_card_saved_but_never_reported_is_confirmed_too(
    sandbox, api_client, guest_booking, mailoutbox, django_capture_on_commit_callbacks
):
    path = f"/create-payment-intent-unauth/{guest_booking.pk}/{guest_booking.email}/"
    secret = api_client.post(path).json()["clientSecret"]
    # The card is saved, but the process that would have confirmed the reservation died first.
    SandboxGateway().confirm_setup_intent(
        setup_intent_id_of(secret), client_secret=secret, card_number="4242424242424242"
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert card_setup.confirm_saved_cards(now=timezone.now() + MINUTE) == {"confirmed": 1}

    guest_booking.refresh_from_db()
    assert guest_booking.status == Reservation.Status.CONFIRMED
    assert len(confirmations(mailoutbox)) == 1
