import pytest
import stripe

from accounts.tests.factories import UserFactory, signed_in_client
from reservations.models import Reservation

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_saved(fake_stripe, driver_client, booking) -> str:
    """The driver went through checkout: the SetupIntent succeeded with a Visa ending 4242."""
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]
    assert fake_stripe.save_card(secret) == "succeeded"
    return secret


def confirmations(mailoutbox) -> list:
    return [m for m in mailoutbox if m.subject == "Reservation Confirmation"]


@pytest.mark.parametrize("slash", ["/", ""])
def test_confirm_after_the_card_is_saved_confirms_the_reservation(
    card_saved, driver_client, booking, mailoutbox, django_capture_on_commit_callbacks, slash
):
    with django_capture_on_commit_callbacks(execute=True):
        response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}{slash}")

    assert response.status_code == 204
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
    assert (booking.card_brand, booking.card_last4) == ("visa", "4242")
    assert booking.stripe_payment_method_id.startswith("pm_")
    assert booking.stripe_customer_id.startswith("cus_")
    [email] = confirmations(mailoutbox)
    assert email.to == [booking.email]


def test_confirming_twice_sends_one_email(
    card_saved, driver_client, booking, mailoutbox, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")
        assert response.status_code == 204

    assert len(confirmations(mailoutbox)) == 1


def test_guest_confirms_by_id_and_email(
    fake_stripe, api_client, guest_booking, mailoutbox, django_capture_on_commit_callbacks
):
    path = f"{guest_booking.pk}/{guest_booking.email}/"
    secret = api_client.post(f"/create-payment-intent-unauth/{path}").json()["clientSecret"]
    fake_stripe.save_card(secret, "5555555555554444")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.get(f"/confirm-successful-setup-intent-unauth/{path}")

    assert response.status_code == 204
    guest_booking.refresh_from_db()
    assert guest_booking.status == Reservation.Status.CONFIRMED
    assert guest_booking.card_last4 == "4444"
    assert len(confirmations(mailoutbox)) == 1


def test_confirm_before_the_card_is_saved_is_a_conflict_with_stripes_status(
    fake_stripe, driver_client, booking, mailoutbox
):
    driver_client.post(f"/create-payment-intent-auth/{booking.pk}/")

    response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")

    assert response.status_code == 409
    assert response.json()["setup_intent_status"] == "requires_payment_method"
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT
    assert mailoutbox == []


def test_confirm_before_any_setup_intent_is_a_conflict(fake_stripe, driver_client, booking):
    response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")

    assert response.status_code == 409
    assert response.json()["setup_intent_status"] is None


def test_a_declined_card_leaves_the_reservation_pending(
    fake_stripe, driver_client, booking, mailoutbox
):
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]
    with pytest.raises(stripe.CardError):
        fake_stripe.save_card(secret, "4000000000000002")

    response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")

    assert response.status_code == 409
    # localstripe cancels a SetupIntent on a declined card; Stripe keeps it awaiting another.
    assert response.json()["setup_intent_status"] in {"canceled", "requires_payment_method"}
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT
    assert booking.card_last4 == ""
    assert mailoutbox == []


def test_a_card_awaiting_authentication_is_not_confirmed(fake_stripe, driver_client, booking):
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]
    fake_stripe.save_card(secret, "4000002760003184")

    response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")

    assert response.status_code == 409
    assert response.json()["setup_intent_status"] == "requires_action"


def test_someone_elses_reservation_cannot_be_confirmed(card_saved, booking):
    stranger, _ = signed_in_client(UserFactory())

    response = stranger.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")

    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT


def test_guest_with_the_wrong_email_cannot_confirm(fake_stripe, api_client, guest_booking):
    response = api_client.get(
        f"/confirm-successful-setup-intent-unauth/{guest_booking.pk}/other@example.com/"
    )

    assert response.status_code == 404


def test_a_reservation_cancelled_meanwhile_is_not_confirmed(card_saved, driver_client, booking):
    Reservation.objects.filter(pk=booking.pk).update(status=Reservation.Status.CANCELLED)

    response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")

    assert response.status_code == 409
    assert response.json()["reservation_status"] == "cancelled"
