import pytest

from payments import tasks
from payments.tests.fake_stripe import setup_intent_id_of
from reservations.models import Reservation

pytestmark = pytest.mark.django_db


@pytest.fixture
def abandoned_checkout(fake_stripe, driver_client, booking) -> str:
    """The driver opened checkout, then deleted the reservation before paying."""
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]
    assert driver_client.delete(f"/delete-reservation-auth/{booking.pk}/").status_code == 204
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CANCELLED
    return secret


def test_the_setup_intent_of_a_reservation_cancelled_unpaid_is_cancelled(
    fake_stripe, abandoned_checkout, booking
):
    tasks.release_card_setup.delay(booking.pk).get()

    intent = fake_stripe.setup_intent(setup_intent_id_of(abandoned_checkout))
    assert intent.status == "canceled"


def test_a_live_reservations_setup_intent_is_kept(fake_stripe, driver_client, booking):
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]

    tasks.release_card_setup.delay(booking.pk).get()

    assert fake_stripe.setup_intent(setup_intent_id_of(secret)).status == "requires_payment_method"
