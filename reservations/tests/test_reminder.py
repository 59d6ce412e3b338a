import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import EmailKind, OutboundEmail
from reservations import services
from reservations.links import reservation_id_from
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
