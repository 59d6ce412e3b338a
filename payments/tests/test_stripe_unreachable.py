import pytest

from payments.models import SetupAttempt, StripeCustomer
from payments.tests.fake_stripe import free_port
from reservations.models import Reservation

pytestmark = pytest.mark.django_db


def test_checkout_answers_503_with_a_retry_hint_and_writes_nothing(
    stripe_unreachable, driver_client, booking
):
    response = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "detail" in response.json()
    assert not StripeCustomer.objects.exists()
    assert not SetupAttempt.objects.exists()
    booking.refresh_from_db()
    assert booking.stripe_setup_intent_id is None
    assert booking.stripe_customer_id == ""


def test_confirm_answers_503_and_leaves_the_reservation_pending(
    fake_stripe, settings, driver_client, booking
):
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]
    fake_stripe.save_card(secret)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    response = driver_client.get(f"/confirm-successful-setup-intent-auth/{booking.pk}/")

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT
