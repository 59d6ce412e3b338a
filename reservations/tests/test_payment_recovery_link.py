"""Issue 9 (8): a reservation whose charge at the end failed carries the link to the page where
its driver pays (the Payment Failed email's), so that the web app can lead them there."""

from urllib.parse import urlsplit

import pytest

from accounts.tests.factories import signed_in_client
from payments.links import reservation_id_from
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def test_a_failed_payment_carries_the_link_to_the_payment_page(client, settings):
    settings.SITE_URL = "https://securemyspot.example"
    reservation = ReservationFactory(
        confirmed=True, status=Reservation.Status.PAYMENT_FAILED, amount_cents=812
    )

    body = client.get(f"/reservation-unauth/{reservation.id}/{reservation.email}/").json()

    prefix = "https://securemyspot.example/pay/"
    assert body["payment_recovery_url"].startswith(prefix)
    token = body["payment_recovery_url"].removeprefix(prefix).rstrip("/")
    assert reservation_id_from(token) == reservation.id


def test_the_link_opens_the_payment_page(client):
    reservation = ReservationFactory(
        confirmed=True, status=Reservation.Status.PAYMENT_FAILED, amount_cents=812
    )
    body = client.get(f"/reservation-unauth/{reservation.id}/{reservation.email}/").json()

    page = client.get(urlsplit(body["payment_recovery_url"]).path)

    assert page.status_code == 200
    assert "$8.12" in page.content.decode()


@pytest.mark.parametrize(
    "status",
    [
        Reservation.Status.PENDING_PAYMENT,
        Reservation.Status.CONFIRMED,
        Reservation.Status.ENDED,
        Reservation.Status.CANCELLED,
    ],
)
def test_no_other_reservation_carries_it(status, driver):
    reservation = ReservationFactory(user=driver, email=driver.email, status=status)
    client, _ = signed_in_client(driver)

    listed = (
        client.get("/reservation-auth/").json() + client.get("/expired-reservations-auth/").json()
    )

    [shown] = [body for body in listed if body["id"] == reservation.id]
    assert "payment_recovery_url" not in shown
