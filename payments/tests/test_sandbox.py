"""The sandbox gateway lets `make run` take "payments" with no Stripe account: the developer
plays the browser's card step with curl (docs/payments.md)."""

import pytest

from payments.models import SandboxCustomer, SandboxSetupIntent
from payments.tests.fake_stripe import setup_intent_id_of
from reservations.models import Reservation

pytestmark = pytest.mark.django_db


def enter_card(client, client_secret: str, card_number: str):
    return client.post(
        f"/sandbox/setup-intents/{setup_intent_id_of(client_secret)}/confirm/",
        {"client_secret": client_secret, "card_number": card_number},
        format="json",
    )


@pytest.fixture
def checkout(sandbox, api_client, guest_booking) -> str:
    path = f"/create-payment-intent-unauth/{guest_booking.pk}/{guest_booking.email}/"
    response = api_client.post(path)
    assert response.status_code == 201
    return response.json()["clientSecret"]


def test_checkout_end_to_end_with_a_test_card(
    checkout, api_client, guest_booking, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        card = enter_card(api_client, checkout, "4242 4242 4242 4242")
        confirm = api_client.get(
            f"/confirm-successful-setup-intent-unauth/{guest_booking.pk}/{guest_booking.email}/"
        )

    assert card.status_code == 200
    assert card.json()["status"] == "succeeded"
    assert confirm.status_code == 204
    guest_booking.refresh_from_db()
    assert guest_booking.status == Reservation.Status.CONFIRMED
    assert (guest_booking.card_brand, guest_booking.card_last4) == ("visa", "4242")
    assert [m.subject for m in mailoutbox] == ["Reservation Confirmation"]


def test_a_saved_card_confirms_the_reservation_as_stripes_webhook_would(
    sandbox, driver_client, booking, django_capture_on_commit_callbacks, mailoutbox
):
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]

    with django_capture_on_commit_callbacks(execute=True):
        enter_card(driver_client, secret, "5555555555554444")

    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
    assert (booking.card_brand, booking.card_last4) == ("mastercard", "4444")
    assert len(mailoutbox) == 1


def test_the_same_setup_intent_and_customer_are_reused(checkout, api_client, guest_booking):
    again = api_client.post(
        f"/create-payment-intent-unauth/{guest_booking.pk}/{guest_booking.email}/"
    )

    assert again.json()["clientSecret"] == checkout
    assert SandboxSetupIntent.objects.count() == 1
    assert SandboxCustomer.objects.count() == 1


def test_a_declined_card_is_a_402_and_the_setup_intent_takes_another_card(
    checkout, api_client, guest_booking
):
    declined = enter_card(api_client, checkout, "4000000000000002")

    assert declined.status_code == 402
    assert declined.json()["error"]["code"] == "card_declined"
    assert declined.json()["setup_intent"]["status"] == "requires_payment_method"
    guest_booking.refresh_from_db()
    assert guest_booking.status == Reservation.Status.PENDING_PAYMENT

    assert enter_card(api_client, checkout, "4242424242424242").json()["status"] == "succeeded"
    guest_booking.refresh_from_db()
    assert guest_booking.status == Reservation.Status.CONFIRMED


def test_a_card_needing_authentication_leaves_the_reservation_unconfirmed(
    checkout, api_client, guest_booking
):
    card = enter_card(api_client, checkout, "4000002760003184")
    confirm = api_client.get(
        f"/confirm-successful-setup-intent-unauth/{guest_booking.pk}/{guest_booking.email}/"
    )

    assert card.json()["status"] == "requires_action"
    assert confirm.status_code == 409
    assert confirm.json()["setup_intent_status"] == "requires_action"


def test_a_number_that_is_not_a_test_card_is_refused(checkout, api_client):
    response = enter_card(api_client, checkout, "4111111111111112")

    assert response.status_code == 400
    assert "card_number" in response.json()


def test_a_setup_intent_that_succeeded_takes_no_other_card(checkout, api_client):
    enter_card(api_client, checkout, "4242424242424242")

    response = enter_card(api_client, checkout, "5555555555554444")

    assert response.status_code == 409
    assert response.json()["setup_intent_status"] == "succeeded"


def test_the_setup_intent_id_alone_saves_no_card(checkout, api_client, guest_booking):
    response = api_client.post(
        f"/sandbox/setup-intents/{setup_intent_id_of(checkout)}/confirm/",
        {"card_number": "4242424242424242"},
        format="json",
    )

    assert response.status_code == 400
    assert "client_secret" in response.json()
    guest_booking.refresh_from_db()
    assert guest_booking.status == Reservation.Status.PENDING_PAYMENT


def test_another_client_secret_saves_no_card_and_tells_nothing(checkout, api_client, guest_booking):
    """Someone who learnt the id (a log, a shared screen) cannot pay for the reservation; the
    answer is the unknown SetupIntent's, so it does not confirm that the id exists either."""
    forged = f"{setup_intent_id_of(checkout)}_secret_guessed"

    response = enter_card(api_client, forged, "4242424242424242")

    assert response.status_code == 404
    guest_booking.refresh_from_db()
    assert guest_booking.status == Reservation.Status.PENDING_PAYMENT
    assert SandboxSetupIntent.objects.get(pk=setup_intent_id_of(checkout)).status != "succeeded"


def test_an_unknown_setup_intent_is_not_found(sandbox, api_client):
    response = enter_card(api_client, "seti_sandbox_nope_secret_x", "4242424242424242")

    assert response.status_code == 404


def test_with_stripe_keys_the_sandbox_is_not_served(fake_stripe, api_client, guest_booking):
    secret = api_client.post(
        f"/create-payment-intent-unauth/{guest_booking.pk}/{guest_booking.email}/"
    ).json()["clientSecret"]

    response = enter_card(api_client, secret, "4242424242424242")

    assert response.status_code == 404
    assert "detail" in response.json()
