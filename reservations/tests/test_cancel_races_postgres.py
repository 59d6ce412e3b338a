"""Cancelling a booking ahead races the clock's sweep announcing its start (the sweep's clock
may run ahead of the request's): whichever commits first, the live map ends up with the spot
free and every booking cancelled, each spot taken and freed equally often."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from reservations import services
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from reservations.tests.test_double_booking_postgres import run_together
from spots.models import AvailabilityEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BOOKINGS = 12
SWEEPS = 4


def test_cancelling_races_the_start_sweep_consistently():
    start = timezone.now() + timedelta(minutes=10)
    bookings = [
        ReservationFactory(confirmed=True, start_time=start, end_time=start + timedelta(hours=1))
        for _ in range(BOOKINGS)
    ]

    def attempt(i: int):
        if i < BOOKINGS:
            return services.cancel_advance_booking(
                reservation_id=bookings[i].pk, now=start - timedelta(seconds=1)
            )
        return services.announce_by_clock(now=start, batch_size=BOOKINGS // SWEEPS)

    results = run_together(BOOKINGS + SWEEPS, attempt)

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = set(Reservation.objects.values_list("status", flat=True))
    assert statuses == {Reservation.Status.CANCELLED}
    spot_ids = {booking.spot_id for booking in bookings}
    events = list(AvailabilityEvent.objects.order_by("seq").values_list("spot_id", "kind"))
    counts = Counter(events)
    for spot_id in spot_ids:
        assert counts[spot_id, "taken"] == counts[spot_id, "freed"] <= 1, events
    last_kind = {spot_id: kind for spot_id, kind in events}
    assert set(last_kind.values()) <= {"freed"}
    assert services.announce_by_clock(now=start) == 0
