"""Double booking is impossible because PostgreSQL refuses it, even under a burst of
simultaneous requests and even without the application's own check."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, close_old_connections, connection
from django.utils import timezone

from reservations import services
from reservations.errors import SpotUnavailable
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.postgres

THREADS = 50


def run_together(count: int, attempt) -> list[object]:
    """Run ``attempt(i)`` in ``count`` threads released at once by a barrier; each result is
    what it returned or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = attempt(i)
        except Exception as error:
            results[i] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a booking thread hung"
    return results


def overlapping_live_pairs(spot_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM reservations_reservation a
            JOIN reservations_reservation b
              ON a.spot_id = b.spot_id AND a.id < b.id
             AND a.start_time < b.end_time AND b.start_time < a.end_time
            WHERE a.spot_id = %s
              AND a.status IN ('pending_payment', 'confirmed')
              AND b.status IN ('pending_payment', 'confirmed')
            """,
            [spot_id],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_database_refuses_two_overlapping_live_reservations():
    first = ReservationFactory()

    with pytest.raises(IntegrityError):
        ReservationFactory(
            spot=first.spot,
            start_time=first.start_time + timedelta(minutes=30),
            end_time=first.end_time + timedelta(minutes=30),
        )


@pytest.mark.django_db
def test_the_database_allows_back_to_back_and_finished_reservations():
    first = ReservationFactory()
    ReservationFactory(
        spot=first.spot, start_time=first.end_time, end_time=first.end_time + timedelta(hours=1)
    )
    ReservationFactory(
        spot=first.spot,
        start_time=first.start_time,
        end_time=first.end_time,
        status=Reservation.Status.CANCELLED,
    )


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_bookings_of_one_spot_yield_exactly_one():
    spot = ParkingSpotFactory()

    results = run_together(
        THREADS,
        lambda i: services.reserve_spot(
            spot_id=spot.id, user=None, email=f"racer{i}@example.com", minutes=10 + i
        ),
    )

    assert sum(isinstance(r, Reservation) for r in results) == 1
    assert sum(isinstance(r, SpotUnavailable) for r in results) == THREADS - 1
    assert overlapping_live_pairs(spot.id) == 0


@pytest.mark.django_db(transaction=True)
def test_without_the_applications_check_the_constraint_alone_admits_one(monkeypatch):
    spot = ParkingSpotFactory()
    # Every booking now believes the spot is free: only the database stands in the way.
    monkeypatch.setattr(
        services, "live_reservations_overlapping", lambda **kw: Reservation.objects.none()
    )

    results = run_together(
        THREADS,
        lambda i: services.reserve_spot(
            spot_id=spot.id, user=None, email=f"racer{i}@example.com", minutes=30
        ),
    )

    assert sum(isinstance(r, Reservation) for r in results) == 1
    assert sum(isinstance(r, SpotUnavailable) for r in results) == THREADS - 1
    assert overlapping_live_pairs(spot.id) == 0


@pytest.mark.django_db(transaction=True)
def test_extensions_racing_a_booking_ahead_never_overlap(monkeypatch):
    spot = ParkingSpotFactory()
    now = timezone.now()
    current = ReservationFactory(
        spot=spot, confirmed=True, start_time=now, end_time=now + timedelta(minutes=30)
    )
    monkeypatch.setattr(
        services, "live_reservations_overlapping", lambda **kw: Reservation.objects.none()
    )
    ahead_start = now + timedelta(minutes=40)

    def attempt(i: int):
        if i % 2:
            return services.change_end_time(
                reservation_id=current.id, end_time=now + timedelta(minutes=90)
            )
        return services.reserve_spot(
            spot_id=spot.id,
            user=None,
            email=f"ahead{i}@example.com",
            minutes=30,
            start_time=ahead_start,
        )

    results = run_together(THREADS, attempt)

    booked_ahead = [r for r in results if isinstance(r, Reservation) and r.id != current.id]
    extended = [r for r in results if isinstance(r, Reservation) and r.id == current.id]
    assert all(isinstance(r, Reservation | SpotUnavailable) for r in results), results
    assert (len(booked_ahead), bool(extended)) in {(1, False), (0, True)}
    assert overlapping_live_pairs(spot.id) == 0
