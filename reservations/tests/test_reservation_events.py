"""The reservation events outbox (docs/live.md, "A driver's own reservations"): what each
change writes, in its transaction, and what it does not."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from payments.services.charging import charge_for_reservation
from payments.tests.charging import ended_reservation
from reservations.errors import SpotUnavailable
from reservations.models import Reservation, ReservationEvent
from reservations.selectors import StreamOwner, current_reservation_event_seq
from reservations.services import (
    change_end_time,
    prune_reservation_events,
    record_reservation_events,
    reserve_spot,
)
from reservations.tests.factories import ReservationFactory
from securemyspot.outbox import NotInTransaction
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db


def recorded() -> list[tuple[str, int, int | None]]:
    return list(ReservationEvent.objects.order_by("seq").values_list("kind", "reservation", "user"))


def test_a_users_booking_is_recorded_for_the_user_and_a_guests_is_not():
    user, spot = UserFactory(), ParkingSpotFactory()

    users = reserve_spot(spot_id=spot.pk, user=user, minutes=30)
    reserve_spot(
        spot_id=spot.pk,
        user=None,
        email="guest@example.com",
        minutes=30,
        start_time=timezone.now() + timedelta(hours=2),
    )

    # Nobody can follow a guest's reservation before it exists.
    assert recorded() == [("created", users.pk, user.pk)]


def test_a_refused_booking_records_nothing():
    user, spot = UserFactory(), ParkingSpotFactory()
    reserve_spot(spot_id=spot.pk, user=user, minutes=30)

    with pytest.raises(SpotUnavailable):
        reserve_spot(spot_id=spot.pk, user=UserFactory(), minutes=30)

    assert len(recorded()) == 1
    assert current_reservation_event_seq() == 1


def test_a_change_rolled_back_after_its_event_records_nothing_and_uses_no_number():
    reservation = ReservationFactory(confirmed=True)

    def change_then_fail() -> None:
        with transaction.atomic():
            change_end_time(
                reservation_id=reservation.pk,
                end_time=reservation.end_time + timedelta(minutes=10),
            )
            assert len(recorded()) == 1
            raise RuntimeError("the caller's transaction fails after the change")

    with pytest.raises(RuntimeError):
        change_then_fail()

    assert recorded() == []
    assert current_reservation_event_seq() == 0
    change_end_time(
        reservation_id=reservation.pk, end_time=reservation.end_time + timedelta(minutes=10)
    )
    assert ReservationEvent.objects.get().seq == 1


def test_events_are_numbered_one_after_another_in_commit_order():
    reservations = ReservationFactory.create_batch(3, confirmed=True)
    for reservation in reservations:
        change_end_time(
            reservation_id=reservation.pk, end_time=reservation.end_time + timedelta(minutes=5)
        )

    assert list(ReservationEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3]
    assert current_reservation_event_seq() == 3


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused():
    with pytest.raises(NotInTransaction):
        record_reservation_events(
            reservations=[ReservationFactory()],
            kind=ReservationEvent.Kind.AMENDED,
            at=timezone.now(),
        )


def test_a_fee_under_the_minimum_is_recorded_as_charged_when_waived():
    reservation = ended_reservation(amount_cents=30)

    charge_for_reservation(reservation_id=reservation.pk)
    charge_for_reservation(reservation_id=reservation.pk)  # run twice: nothing more

    assert recorded() == [("charged", reservation.pk, None)]


def test_a_guests_stream_holds_that_reservation_alone_and_a_users_all_theirs():
    user = UserFactory()
    first = ReservationFactory(confirmed=True, user=user, email=user.email)
    second = ReservationFactory(confirmed=True, user=user, email=user.email)
    guest = ReservationFactory(confirmed=True)
    for reservation in (first, guest, second):
        change_end_time(
            reservation_id=reservation.pk, end_time=reservation.end_time + timedelta(minutes=5)
        )

    users = StreamOwner(user_id=user.pk).events().values_list("reservation", flat=True)
    guests = StreamOwner(guest_reservation_id=guest.pk).events()
    assert sorted(users) == sorted([first.pk, second.pk])
    assert list(guests.values_list("reservation", flat=True)) == [guest.pk]
    # An account's reservation is never a guest's, even named by its id.
    assert not StreamOwner(guest_reservation_id=first.pk).events().exists()


def test_pruning_drops_the_events_older_than_kept_and_keeps_the_numbering(settings):
    settings.RESERVATION_EVENTS_KEEP_HOURS = 1
    reservation = ReservationFactory(confirmed=True)
    now = timezone.now()
    for minutes_ago in (120, 90, 10):
        with transaction.atomic():
            record_reservation_events(
                reservations=[reservation],
                kind=ReservationEvent.Kind.AMENDED,
                at=now - timedelta(minutes=minutes_ago),
            )

    assert prune_reservation_events(now=now) == 2
    assert prune_reservation_events(now=now) == 0
    assert list(ReservationEvent.objects.values_list("seq", flat=True)) == [3]
    with transaction.atomic():
        record_reservation_events(
            reservations=[reservation], kind=ReservationEvent.Kind.ENDED, at=now
        )
    assert current_reservation_event_seq() == 4


def test_a_reservation_deleted_by_an_operator_takes_its_events_with_it():
    reservation = ReservationFactory(confirmed=True)
    change_end_time(
        reservation_id=reservation.pk, end_time=reservation.end_time + timedelta(minutes=5)
    )

    Reservation.objects.filter(pk=reservation.pk).delete()

    assert recorded() == []
