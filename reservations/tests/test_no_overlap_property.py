"""Whatever drivers do, in whatever order, no two live reservations of a spot overlap."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reservations import services
from reservations.models import Reservation
from securemyspot.errors import DomainError
from spots.tests.factories import ParkingSpotFactory

SPOTS = 2

book = st.tuples(
    st.just("book"),
    st.integers(0, SPOTS - 1),  # spot
    st.integers(0, 240),  # start, minutes from the clock
    st.integers(1, 180),  # length, minutes
)
change = st.tuples(
    st.just("change"),
    st.integers(0, 20),  # which reservation so far
    st.integers(-30, 300),  # new end, minutes from the clock
)
end = st.tuples(st.just("end"), st.integers(0, 20))
tick = st.tuples(st.just("tick"), st.integers(1, 90))  # the clock moves on, minutes

operations = st.lists(st.one_of(book, change, end, tick), min_size=1, max_size=25)


def overlapping_live_pairs() -> list[tuple[int, int]]:
    live = list(Reservation.objects.filter(status__in=Reservation.LIVE_STATUSES))
    return [
        (a.id, b.id)
        for a in live
        for b in live
        if a.id < b.id
        and a.spot_id == b.spot_id
        and a.start_time < b.end_time
        and b.start_time < a.end_time
    ]


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=operations)
# One driver books again and again here: the hoarding limit is not what this is about.
@override_settings(RESERVATION_UNPAID_HOLDS_PER_EMAIL=0)
def test_no_sequence_of_calls_leaves_two_live_reservations_overlapping(operations):
    Reservation.objects.all().delete()
    spots = ParkingSpotFactory.create_batch(SPOTS)
    clock = timezone.now()
    booked: list[int] = []

    for operation in operations:
        kind, *args = operation
        try:
            if kind == "book":
                spot, start, length = args
                reservation = services.reserve_spot(
                    spot_id=spots[spot].id,
                    user=None,
                    email="driver@example.com",
                    minutes=length,
                    start_time=clock + timedelta(minutes=start),
                    now=clock,
                )
                booked.append(reservation.id)
            elif kind == "change" and booked:
                which, new_end = args
                services.change_end_time(
                    reservation_id=booked[which % len(booked)],
                    end_time=clock + timedelta(minutes=new_end),
                    now=clock,
                )
            elif kind == "end" and booked:
                services.end_or_cancel(reservation_id=booked[args[0] % len(booked)], now=clock)
            elif kind == "tick":
                clock += timedelta(minutes=args[0])
        except (DomainError, Http404):
            pass  # a refusal is a fine outcome; a double booking is not

        assert overlapping_live_pairs() == []
