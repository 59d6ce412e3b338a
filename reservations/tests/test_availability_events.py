"""Every change of a reservation that changes what is available now writes its availability
event in the change's own transaction (docs/live.md); one that changes nothing now writes none."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from reservations import services, tasks
from reservations.errors import SpotUnavailable
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spots.models import AvailabilityEvent
from spots.selectors import current_seq

pytestmark = pytest.mark.django_db


def events() -> list[tuple[int, int, str]]:
    return list(AvailabilityEvent.objects.order_by("seq").values_list("seq", "spot_id", "kind"))


def book(spot, **fields) -> Reservation:
    return services.reserve_spot(
        spot_id=spot.pk, user=None, email="guest@example.com", minutes=60, **fields
    )


def test_a_booking_starting_now_takes_its_spot(spot):
    book(spot)

    assert events() == [(1, spot.pk, "taken")]


def test_a_booking_ahead_takes_nothing_until_it_starts(spot):
    book(spot, start_time=timezone.now() + timedelta(minutes=30))

    assert events() == []


def test_a_refused_booking_emits_nothing_and_uses_no_number(spot):
    book(spot)

    with pytest.raises(SpotUnavailable):
        book(spot)

    assert events() == [(1, spot.pk, "taken")]
    assert current_seq() == 1


def test_a_booking_rolled_back_after_its_insert_emits_nothing(spot):
    def failing_request() -> None:
        with transaction.atomic():
            book(spot)
            raise RuntimeError("the request failed after booking")

    with pytest.raises(RuntimeError):
        failing_request()

    assert events() == []
    assert current_seq() == 0


def test_cancelling_an_unpaid_hold_frees_its_spot():
    held = ReservationFactory()

    services.end_or_cancel(reservation_id=held.pk)

    assert events() == [(1, held.spot_id, "freed")]


def test_cancelling_a_booking_ahead_frees_nothing():
    ahead = ReservationFactory(start_time=timezone.now() + timedelta(hours=1))

    services.end_or_cancel(reservation_id=ahead.pk)

    assert events() == []


def test_ending_early_frees_the_spot():
    now = timezone.now()
    running = ReservationFactory(confirmed=True, start_time=now - timedelta(minutes=10))

    services.change_end_time(reservation_id=running.pk, end_time=now - timedelta(minutes=1))

    assert events() == [(1, running.spot_id, "freed")]


def test_extending_or_shortening_a_running_reservation_changes_nothing_now():
    now = timezone.now()
    running = ReservationFactory(confirmed=True, start_time=now - timedelta(minutes=10))

    services.change_end_time(reservation_id=running.pk, end_time=now + timedelta(hours=2))
    services.change_end_time(reservation_id=running.pk, end_time=now + timedelta(minutes=5))

    assert events() == []


def test_a_lapsed_hold_expiring_frees_its_spot():
    held = ReservationFactory(start_time=timezone.now() - timedelta(minutes=20))

    services.expire_unpaid_reservation(reservation_id=held.pk)

    assert events() == [(1, held.spot_id, "freed")]


def test_confirmation_changes_nothing_on_the_map():
    held = ReservationFactory()

    services.confirm_reservation(
        reservation_id=held.pk,
        customer_id="cus_1",
        payment_method_id="pm_1",
        card_brand="visa",
        card_last4="4242",
    )

    assert events() == []


def test_the_engine_ending_reservations_frees_their_spots():
    now = timezone.now()
    due = [
        ReservationFactory(confirmed=True, start_time=now - timedelta(hours=2)) for _ in range(3)
    ]

    services.end_due_reservations(now=now)

    assert sorted(spot for _, spot, _ in events()) == sorted(r.spot_id for r in due)
    assert {kind for *_, kind in events()} == {"freed"}


def test_the_end_time_task_frees_its_spot():
    now = timezone.now()
    due = ReservationFactory(confirmed=True, start_time=now - timedelta(hours=2))

    services.end_reservation_if_due(reservation_id=due.pk, now=now)

    assert events() == [(1, due.spot_id, "freed")]


class TestTheClock:
    def test_a_booking_ahead_takes_its_spot_once_when_its_start_arrives(self, spot):
        start = timezone.now() + timedelta(minutes=30)
        book(spot, start_time=start)

        assert services.announce_by_clock(now=start - timedelta(seconds=1)) == 0
        assert services.announce_by_clock(now=start) == 1
        assert services.announce_by_clock(now=start + timedelta(seconds=5)) == 0

        assert events() == [(1, spot.pk, "taken")]

    def test_the_sweep_task_announces_every_batch(self, spot):
        now = timezone.now()
        ReservationFactory(spot=spot, start_time=now - timedelta(seconds=1))

        assert tasks.announce_started_reservations() == 1
        assert tasks.announce_started_reservations() == 0
        assert events() == [(1, spot.pk, "taken")]

    def test_an_unpaid_hold_that_outlives_its_end_frees_the_spot_at_its_end(self, spot):
        now = timezone.now()
        book(spot, start_time=now + timedelta(minutes=1), now=now)
        end = now + timedelta(minutes=61)

        services.announce_by_clock(now=end)
        services.announce_by_clock(now=end + timedelta(seconds=5))

        # Started and ended between two sweeps: the map ends where it should, freed.
        assert [kind for *_, kind in events()] == ["freed"]

    def test_a_hold_that_outlived_its_end_does_not_free_a_spot_booked_since(self, spot):
        now = timezone.now()
        old = ReservationFactory(
            spot=spot, start_time=now - timedelta(minutes=10), end_time=now - timedelta(minutes=1)
        )
        book(spot)

        services.expire_unpaid_reservation(reservation_id=old.pk)
        services.announce_by_clock()

        assert [kind for *_, kind in events()] == ["taken"]

    def test_a_confirmed_reservation_is_left_to_the_end_sweep(self):
        now = timezone.now()
        ReservationFactory(
            confirmed=True,
            start_time=now - timedelta(hours=2),
            announced=Reservation.Announced.START,
        )

        assert services.announce_by_clock(now=now) == 0
        assert events() == []
