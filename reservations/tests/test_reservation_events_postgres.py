"""Drivers' reservation events under concurrency, on PostgreSQL: users booking, amending and
ending at once (each transaction taking the reservation events' sequence row, then, for a
booking or an end, the availability one) commit events numbered 1..N with no gap, one per
change, and a reader polling meanwhile never sees a later number before an earlier one
(docs/live.md, "A driver's own reservations")."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from reservations import services
from reservations.models import ReservationEvent
from reservations.selectors import current_reservation_event_seq, reservation_events_after
from reservations.tests.test_double_booking_postgres import run_together
from spots.tests.factories import ParkingSpotFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def test_users_booking_amending_and_ending_at_once_number_their_events_without_gaps():
    users = UserFactory.create_batch(THREADS)
    spots = ParkingSpotFactory.create_batch(THREADS)
    done = threading.Event()
    seen: list[int] = []
    holes: list[tuple[int, list[int]]] = []

    def read() -> None:
        try:
            last = 0
            while not done.is_set() or last < current_reservation_event_seq():
                batch = [event.seq for event in reservation_events_after(seq=last, limit=1000)]
                if batch and batch != list(range(last + 1, last + len(batch) + 1)):
                    holes.append((last, batch))
                seen.extend(batch)
                last = batch[-1] if batch else last
        finally:
            connection.close()

    def drive(i: int) -> None:
        reservation = services.reserve_spot(spot_id=spots[i].pk, user=users[i], minutes=30)
        services.change_end_time(
            reservation_id=reservation.pk, end_time=reservation.end_time + timedelta(minutes=5)
        )
        services.end_or_cancel(reservation_id=reservation.pk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        results = run_together(THREADS, drive)
    finally:
        done.set()
        reader.join(timeout=60)

    assert not [result for result in results if isinstance(result, Exception)], results
    assert not reader.is_alive()
    assert holes == []
    assert seen == list(range(1, 3 * THREADS + 1))
    kinds = Counter(ReservationEvent.objects.values_list("kind", flat=True))
    assert kinds == {"created": THREADS, "amended": THREADS, "cancelled": THREADS}
