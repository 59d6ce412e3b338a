"""Availability events under concurrency, on PostgreSQL: bookings and ends of many spots at
once commit events numbered 1..N with no gap and no duplicate, one per committed change, and a
refused booking uses no number (docs/live.md)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reservations import services
from reservations.errors import SpotUnavailable
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from reservations.tests.test_double_booking_postgres import run_together
from spots.models import AvailabilityEvent
from spots.selectors import availability_events_after, current_seq
from spots.tests.factories import ParkingSpotFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 24


def committed_events() -> list[tuple[int, int, str]]:
    return list(AvailabilityEvent.objects.order_by("seq").values_list("seq", "spot_id", "kind"))


def test_concurrent_bookings_and_ends_number_their_events_without_gaps():
    free_spots = ParkingSpotFactory.create_batch(THREADS)
    now = timezone.now()
    running = [
        ReservationFactory(confirmed=True, start_time=now - timedelta(minutes=30))
        for _ in range(THREADS)
    ]

    def attempt(i: int):
        outcomes = []
        for round_ in range(3):
            # Every thread books the same few spots (most are refused) and ends its own.
            spot = free_spots[(i + round_) % 4] if round_ else free_spots[i]
            try:
                outcomes.append(
                    services.reserve_spot(
                        spot_id=spot.pk,
                        user=None,
                        email=f"racer{i}-{round_}@example.com",
                        minutes=30,
                    )
                )
            except SpotUnavailable as refused:
                outcomes.append(refused)
        outcomes.append(services.end_or_cancel(reservation_id=running[i].pk))
        return outcomes

    results = run_together(THREADS, attempt)

    assert not [r for r in results if isinstance(r, Exception)], results
    booked = [r for outcomes in results for r in outcomes[:-1] if isinstance(r, Reservation)]
    events = committed_events()
    assert [seq for seq, *_ in events] == list(range(1, len(events) + 1))
    assert current_seq() == len(events)
    assert sorted(s for _, s, kind in events if kind == "taken") == sorted(
        r.spot_id for r in booked
    )
    assert sorted(s for _, s, kind in events if kind == "freed") == sorted(
        r.spot_id for r in running
    )


def test_a_reader_that_sees_a_number_sees_every_event_before_it():
    """Readers poll while writers commit: whatever a read returns is a contiguous run from where
    it started, never a later event without an earlier one still in flight."""
    spots = ParkingSpotFactory.create_batch(THREADS)
    done = threading.Event()
    seen: list[int] = []
    holes: list[tuple[int, list[int]]] = []

    def read() -> None:
        try:
            last = 0
            while not done.is_set() or last < current_seq():
                batch = [change.seq for change in availability_events_after(seq=last, limit=1000)]
                if batch and batch != list(range(last + 1, last + len(batch) + 1)):
                    holes.append((last, batch))
                seen.extend(batch)
                last = batch[-1] if batch else last
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        run_together(
            THREADS,
            lambda i: services.reserve_spot(
                spot_id=spots[i].pk, user=None, email=f"r{i}@example.com", minutes=30
            ),
        )
    finally:
        done.set()
        reader.join(timeout=60)

    assert not reader.is_alive()
    assert holes == []
    assert seen == list(range(1, THREADS + 1))


def test_a_refused_booking_uses_no_number_while_others_commit():
    spot = ParkingSpotFactory()

    results = run_together(
        THREADS,
        lambda i: services.reserve_spot(
            spot_id=spot.pk, user=None, email=f"r{i}@example.com", minutes=30
        ),
    )

    assert sum(isinstance(r, Reservation) for r in results) == 1
    assert committed_events() == [(1, spot.pk, "taken")]
