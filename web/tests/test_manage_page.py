"""The emailed manage link: the reservation page for that reservation, whose server-side forms
work without JavaScript (the module takes over when it can read the reservation)."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from payments.links import pay_token
from reservations.links import manage_token
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def confirmed_ending_in(minutes: int, length: int = 120, **fields) -> Reservation:
    end = timezone.now() + timedelta(minutes=minutes)
    return ReservationFactory(
        confirmed=True, start_time=end - timedelta(minutes=length), end_time=end, **fields
    )


def page_config(response) -> dict:
    [config] = re.findall(
        r'<script id="page-config" type="application/json">(.*?)</script>',
        response.content.decode(),
    )
    return json.loads(config)


def test_shows_the_reservation_in_new_york_time(client):
    reservation = confirmed_ending_in(30)

    response = client.get(f"/manage/{manage_token(reservation.id)}/")

    assert response.status_code == 200
    assert str(reservation.id) in response.content.decode()
    assert "+15 min" in response.content.decode()
    assert ("EST" in response.content.decode()) or ("EDT" in response.content.decode())


def test_extends_the_reservation(client):
    reservation = confirmed_ending_in(30)
    before = reservation.end_time

    response = client.post(
        f"/manage/{manage_token(reservation.id)}/", {"extend_minutes": "30"}, follow=True
    )

    reservation.refresh_from_db()
    assert reservation.end_time == before + timedelta(minutes=30)
    assert "Extended by 30 minutes" in response.content.decode()


def test_says_why_an_extension_is_refused(client):
    reservation = confirmed_ending_in(30)
    ReservationFactory(
        spot=reservation.spot,
        start_time=reservation.end_time,
        end_time=reservation.end_time + timedelta(hours=1),
    )

    response = client.post(
        f"/manage/{manage_token(reservation.id)}/", {"extend_minutes": "15"}, follow=True
    )

    assert "already reserved" in response.content.decode()


def test_ends_the_reservation_now(client):
    reservation = confirmed_ending_in(30)

    client.post(f"/manage/{manage_token(reservation.id)}/", {"action": "end"})

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ENDED


def test_cancels_a_booking_that_has_not_started_for_free(client):
    start = timezone.now() + timedelta(hours=3)
    reservation = ReservationFactory(
        confirmed=True, start_time=start, end_time=start + timedelta(hours=1)
    )

    response = client.post(
        f"/manage/{manage_token(reservation.id)}/", {"action": "end"}, follow=True
    )

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    assert reservation.amount_cents is None
    assert "nothing is charged" in response.content.decode()


def test_refuses_an_extension_it_did_not_offer(client):
    reservation = confirmed_ending_in(30)
    before = reservation.end_time

    client.post(f"/manage/{manage_token(reservation.id)}/", {"extend_minutes": "600"})

    reservation.refresh_from_db()
    assert reservation.end_time == before


def test_a_forged_link_is_not_found(client):
    reservation = confirmed_ending_in(30)

    response = client.get(f"/manage/{manage_token(reservation.id)}x/")

    assert response.status_code == 404


def test_a_payment_link_does_not_open_the_manage_page(client):
    reservation = confirmed_ending_in(30)

    assert client.get(f"/manage/{pay_token(reservation.id)}/").status_code == 404


def test_gives_the_page_module_the_guest_reservation_and_its_email(client):
    reservation = confirmed_ending_in(30)

    response = client.get(f"/manage/{manage_token(reservation.id)}/")

    config = page_config(response)
    assert config["reservation_id"] == reservation.id
    assert config["guest_email"] == reservation.email
    assert 'src="/static/web/reservation.js"' in response.content.decode()


def test_gives_no_email_for_an_account_reservation(client):
    # The guest routes do not reach an account's reservation: its module needs the tab's token,
    # and without one the server's forms stay.
    reservation = confirmed_ending_in(30, user=UserFactory(), email="driver@example.com")

    config = page_config(client.get(f"/manage/{manage_token(reservation.id)}/"))

    assert config["reservation_id"] == reservation.id
    assert config["guest_email"] is None


def test_has_no_inline_styles_or_scripts(client):
    # The Content-Security-Policy allows neither (docs/web.md).
    reservation = confirmed_ending_in(30)

    html = client.get(f"/manage/{manage_token(reservation.id)}/").content.decode()

    assert "<style" not in html
    assert " style=" not in html
    assert re.findall(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))", html) == []
