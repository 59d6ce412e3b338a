"""Every write to a reservation takes its rows in one order (the spot's, then the
reservation's, and never a spot after a reservation), so ending or cancelling never deadlocks
with changing the end time or with a new booking of the spot. A deadlock would not show as an
error (the services run again after one), so the tests look for the retry's log line too."""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications.tests.test_concurrency_postgres import (
    WAIT_SECONDS,
    in_thread,
    wait_until_a_session_waits_for_a_lock,
)
from payments.services import card_setup
from reservations import services
from reservations.errors import ReservationEnded, SpotUnavailable
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from reservations.tests.test_double_booking_postgres import overlapping_live_pairs, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20
EXPECTED_OUTCOMES = Reservation | SpotUnavailable | ReservationEnded


def book(spot_id: int, start_time, i: int) -> Reservation:
    return services.reserve_spot(
        spot_id=spot_id, user=None, email=f"racer{i}@example.com", minutes=30, start_time=start_time
    )


def conflicts_retried(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "transaction conflict" in r.getMessage()]


def test_ending_races_changing_the_end_time_without_a_deadlock(caplog):
    caplog.set_level(logging.INFO, logger="securemyspot.db")
    now = timezone.now()
    reservation = ReservationFactory(
        confirmed=True, start_time=now - timedelta(minutes=10), end_time=now + timedelta(minutes=30)
    )

    def attempt(i: int):
        if i % 2:
            return services.end_or_cancel(reservation_id=reservation.pk)
        return services.change_end_time(
            reservation_id=reservation.pk, end_time=timezone.now() + timedelta(minutes=40 + i)
        )

    results = run_together(THREADS, attempt)

    assert all(isinstance(r, Reservation | ReservationEnded) for r in results), results
    assert conflicts_retried(caplog) == []
    reservation.refresh_from_db()
    # Ended (then charged, here without a saved card: payment_failed) exactly once, at the
    # moment it was ended, whatever end times were set before that.
    assert reservation.status in Reservation.SETTLING_STATUSES
    assert reservation.end_time == reservation.finished_at
    ends = [r for i, r in enumerate(results) if i % 2 and isinstance(r, Reservation)]
    assert len(ends) == 1


def test_cancelling_races_new_bookings_of_the_spot_without_a_deadlock(caplog):
    caplog.set_level(logging.INFO, logger="securemyspot.db")
    held = ReservationFactory(start_time=timezone.now() + timedelta(minutes=5))

    def attempt(i: int):
        if i % 4 == 0:
            return services.end_or_cancel(reservation_id=held.pk)
        return book(held.spot_id, held.start_time, i)

    results = run_together(THREADS, attempt)

    assert all(isinstance(r, EXPECTED_OUTCOMES) for r in results), results
    assert conflicts_retried(caplog) == []
    held.refresh_from_db()
    assert held.status == Reservation.Status.CANCELLED
    assert overlapping_live_pairs(held.spot_id) == 0
    booked = [r for r in results if isinstance(r, Reservation) and r.pk != held.pk]
    assert len(booked) <= 1


def test_ending_races_bookings_right_after_it_without_a_deadlock(caplog):
    caplog.set_level(logging.INFO, logger="securemyspot.db")
    now = timezone.now()
    current = ReservationFactory(
        confirmed=True, start_time=now - timedelta(minutes=10), end_time=now + timedelta(minutes=30)
    )

    def attempt(i: int):
        if i % 4 == 0:
            return services.end_or_cancel(reservation_id=current.pk)
        if i % 4 == 1:
            return services.change_end_time(
                reservation_id=current.pk, end_time=current.end_time + timedelta(minutes=30)
            )
        return book(current.spot_id, current.end_time, i)

    results = run_together(THREADS, attempt)

    assert all(isinstance(r, EXPECTED_OUTCOMES) for r in results), results
    assert conflicts_retried(caplog) == []
    current.refresh_from_db()
    assert current.status in Reservation.SETTLING_STATUSES
    assert overlapping_live_pairs(current.spot_id) == 0


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda reservation_id: card_setup.start_card_setup(reservation_id=reservation_id),
            id="the card step",
        ),
        pytest.param(
            lambda reservation_id: services.confirm_reservation(
                reservation_id=reservation_id,
                customer_id="cus_lock_order",
                payment_method_id="pm_lock_order",
                card_brand="visa",
                card_last4="4242",
            ),
            id="confirming",
        ),
    ],
)
def test_a_write_that_keeps_a_reservation_live_waits_for_a_booking_holding_its_spot(write):
    """Such a write checks the exclusion constraint again, which would wait on a booking of
    the spot inserting an overlapping period while the booking waits on the reservation's
    row: a deadlock, failing one of them after a second (seen as the card step's 500 in a
    browser test). Holding the spot's row first, the write waits for the booking instead."""
    held = ReservationFactory()  # unpaid, awaiting its card
    booking_holds_the_spot, booking_done = threading.Event(), threading.Event()

    def booking() -> None:
        with transaction.atomic():
            services.lock_spot(held.spot_id)
            booking_holds_the_spot.set()
            booking_done.wait(WAIT_SECONDS)

    booking_thread = in_thread(booking)
    assert booking_holds_the_spot.wait(WAIT_SECONDS)
    written = []
    write_thread = in_thread(lambda: written.append(write(held.pk)))
    wait_until_a_session_waits_for_a_lock()
    booking_done.set()
    booking_thread.join(WAIT_SECONDS)
    write_thread.join(WAIT_SECONDS)

    assert len(written) == 1  # it went ahead once the booking was done
