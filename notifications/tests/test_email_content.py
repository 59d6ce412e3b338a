from datetime import UTC, datetime, timedelta

import pytest

from notifications.models import EmailKind
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def bodies(message) -> tuple[str, str]:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def test_confirmation_tells_the_driver_their_booking_in_new_york_summer_time(
    reservation, queue_and_commit, mailoutbox
):
    queue_and_commit(reservation, now=reservation.start_time + timedelta(minutes=30))

    [message] = mailoutbox
    assert message.subject == "Reservation Confirmation"
    assert message.to == [reservation.email]
    for body in bodies(message):
        assert "Sat 4 Jul 2026, 1:00 PM EDT" in body
        assert "Sat 4 Jul 2026, 3:00 PM EDT" in body
        assert "Visa ending 4242" in body
        assert "$4.50 per hour" in body
        assert str(reservation.id) in body
        assert "40.758000, -73.985500" in body
        assert "Fee so far" in body
        assert "$2.25" in body  # half an hour used
        assert "$9.00" in body  # the two hours booked


def test_confirmation_in_winter_shows_eastern_standard_time(queue_and_commit, mailoutbox):
    reservation = ReservationFactory(
        confirmed=True,
        start_time=datetime(2026, 12, 24, 18, 30, tzinfo=UTC),
        end_time=datetime(2026, 12, 24, 19, 15, tzinfo=UTC),
    )

    queue_and_commit(reservation)

    for body in bodies(mailoutbox[0]):
        assert "Thu 24 Dec 2026, 1:30 PM EST" in body
        assert "Thu 24 Dec 2026, 2:15 PM EST" in body


def test_times_across_the_end_of_daylight_saving_say_which_1_30_am_they_mean(
    queue_and_commit, mailoutbox
):
    # Clocks go back from 2 AM EDT to 1 AM EST on 1 November 2026, so 1:30 AM happens twice.
    reservation = ReservationFactory(
        confirmed=True,
        start_time=datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        end_time=datetime(2026, 11, 1, 7, 30, tzinfo=UTC),
    )

    queue_and_commit(
        reservation,
        kind=EmailKind.AMENDMENT,
        previous_end_time=datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    )

    text, html = bodies(mailoutbox[0])
    for body in (text, html):
        assert "Sun 1 Nov 2026, 1:30 AM EDT" in body  # starts
        assert "Sun 1 Nov 2026, 1:30 AM EST" in body  # was to end, an hour later
        assert "Sun 1 Nov 2026, 2:30 AM EST" in body  # now ends
    assert "Starts:      Sun 1 Nov 2026, 1:30 AM EDT" in text
    assert "Was:         Sun 1 Nov 2026, 1:30 AM EST" in text


def test_amendment_shows_the_new_end_time_and_the_old_one(
    reservation, queue_and_commit, mailoutbox
):
    old_end = reservation.end_time
    reservation.end_time = old_end + timedelta(minutes=45)
    reservation.save()

    queue_and_commit(
        reservation,
        kind=EmailKind.AMENDMENT,
        previous_end_time=old_end,
        now=reservation.start_time + timedelta(minutes=40),
    )

    [message] = mailoutbox
    assert message.subject == "Reservation Amendment"
    text, html = bodies(message)
    assert "Now ends:    Sat 4 Jul 2026, 3:45 PM EDT" in text
    assert "Was:         Sat 4 Jul 2026, 3:00 PM EDT" in text
    for body in (text, html):
        assert "Visa ending 4242" in body
        assert "$3.00" in body  # fee so far: 40 minutes
        assert "$12.38" in body  # 165 minutes at $4.50 an hour, rounded half up


def test_a_fee_under_the_minimum_charge_is_said_not_to_be_charged(queue_and_commit, mailoutbox):
    start = datetime(2026, 7, 4, 17, 0, tzinfo=UTC)
    reservation = ReservationFactory(
        confirmed=True, start_time=start, end_time=start + timedelta(minutes=5)
    )

    queue_and_commit(reservation, now=start)

    for body in bodies(mailoutbox[0]):
        assert "$0.38" in body
        assert "$0.50" in body
        assert "not charged" in body


def test_an_amendment_before_payment_leaves_out_the_card(queue_and_commit, mailoutbox):
    reservation = ReservationFactory()

    queue_and_commit(reservation, kind=EmailKind.AMENDMENT)

    text, html = bodies(mailoutbox[0])
    assert "Card:" not in text
    assert "ending" not in html
