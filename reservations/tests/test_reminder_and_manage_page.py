import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import EmailKind, OutboundEmail
from payments.links import pay_token
from reservations import services
from reservations.links import manage_token, reservation_id_from
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def confirmed_ending_in(minutes: int, length: int = 120) -> Reservation:
    end = timezone.now() + timedelta(minutes=minutes)
    return ReservationFactory(
        confirmed=True, start_time=end - timedelta(minutes=length), end_time=end
    )


def reminders_of(reservation: Reservation) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(reservation=reservation, kind=EmailKind.REMINDER))


class TestReminder:
    def test_is_queued_fifteen_minutes_before_the_end_with_a_link_to_extend(self, settings):
        settings.SITE_URL = "https://securemyspot.example"
        reservation = confirmed_ending_in(10)

        assert services.send_due_reminders() == 1

        [email] = reminders_of(reservation)
        assert email.subject == "Your Reservation Ends Soon"
        [token] = re.findall(r"https://securemyspot\.example/manage/([^/\s]+)/", email.body_text)
        assert reservation_id_from(token) == reservation.id

    def test_is_not_sent_early(self):
        reservation = confirmed_ending_in(40)

        services.send_due_reminders()

        assert reminders_of(reservation) == []

    def test_is_sent_once_per_end_time(self):
        reservation = confirmed_ending_in(10)
        services.send_due_reminders()

        assert services.send_due_reminders() == 0
        assert len(reminders_of(reservation)) == 1

    def test_an_extension_earns_a_new_reminder(self):
        reservation = confirmed_ending_in(10)
        services.send_due_reminders()
        services.change_end_time(
            reservation_id=reservation.id, end_time=reservation.end_time + timedelta(minutes=3)
        )

        assert services.send_due_reminders() == 1
        assert len(reminders_of(reservation)) == 2

    def test_a_reservation_shorter_than_the_lead_time_gets_none(self):
        reservation = confirmed_ending_in(10, length=12)

        services.send_due_reminders()

        assert reminders_of(reservation) == []

    def test_unpaid_reservations_get_none(self):
        end = timezone.now() + timedelta(minutes=10)
        reservation = ReservationFactory(start_time=end - timedelta(hours=1), end_time=end)

        services.send_due_reminders()

        assert reminders_of(reservation) == []


class TestManagePage:
    def test_shows_the_reservation_in_new_york_time(self, client):
        reservation = confirmed_ending_in(30)

        response = client.get(f"/manage/{manage_token(reservation.id)}/")

        assert response.status_code == 200
        assert str(reservation.id) in response.content.decode()
        assert "+15 min" in response.content.decode()
        assert ("EST" in response.content.decode()) or ("EDT" in response.content.decode())

    def test_extends_the_reservation(self, client):
        reservation = confirmed_ending_in(30)
        before = reservation.end_time

        response = client.post(
            f"/manage/{manage_token(reservation.id)}/", {"extend_minutes": "30"}, follow=True
        )

        reservation.refresh_from_db()
        assert reservation.end_time == before + timedelta(minutes=30)
        assert "Extended by 30 minutes" in response.content.decode()

    def test_says_why_an_extension_is_refused(self, client):
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

    def test_ends_the_reservation_now(self, client):
        reservation = confirmed_ending_in(30)

        client.post(f"/manage/{manage_token(reservation.id)}/", {"action": "end"})

        reservation.refresh_from_db()
        assert reservation.status == Reservation.Status.ENDED

    def test_refuses_an_extension_it_did_not_offer(self, client):
        reservation = confirmed_ending_in(30)
        before = reservation.end_time

        client.post(f"/manage/{manage_token(reservation.id)}/", {"extend_minutes": "600"})

        reservation.refresh_from_db()
        assert reservation.end_time == before

    def test_a_forged_link_is_not_found(self, client):
        reservation = confirmed_ending_in(30)

        response = client.get(f"/manage/{manage_token(reservation.id)}x/")

        assert response.status_code == 404

    def test_a_payment_link_does_not_open_the_manage_page(self, client):
        reservation = confirmed_ending_in(30)

        assert client.get(f"/manage/{pay_token(reservation.id)}/").status_code == 404
