"""The availability outbox seen from spots: operators' changes, the numbering, the readers the
live socket server uses, and pruning (docs/live.md)."""

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from reservations.tests.factories import ReservationFactory
from securemyspot.outbox import NotInTransaction, listener_connection_params
from spots.models import AvailabilityEvent, AvailabilitySequence, ParkingSpot
from spots.selectors import (
    availability_events_after,
    available_spots_in_box,
    available_spots_json,
    current_seq,
    events_kept_after,
)
from spots.services import prune_availability_events, record_availability_events
from spots.sql import spot_json_rows
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/spots/parkingspot/"
# A notification goes out as the commit returns; this only bounds waiting for one that is not.
NOTIFY_WAIT_SECONDS = 0.5


def events() -> list[tuple[int, int, str]]:
    return list(AvailabilityEvent.objects.order_by("seq").values_list("seq", "spot_id", "kind"))


def record(spot_ids, kind="taken", at=None) -> None:
    with transaction.atomic():
        record_availability_events(spot_ids=spot_ids, kind=kind, at=at or timezone.now())


def record_then_fail(spot_ids) -> None:
    """A change that records its events, then fails: its transaction rolls back."""
    with transaction.atomic():
        record_availability_events(spot_ids=spot_ids, kind="taken", at=timezone.now())
        raise RuntimeError("the change failed")


@pytest.fixture
def operator_client(client):
    operator = get_user_model().objects.create_superuser("operator@example.com", "s3cret-pass!")
    client.force_login(operator)
    return client


def edit_form(spot: ParkingSpot, **changes) -> dict:
    fields = {"lat": spot.lat, "lng": spot.lng, "rate": spot.rate, "active": spot.active}
    fields |= changes
    return {name: value for name, value in fields.items() if value is not False}


class TestOperators:
    def test_withdrawing_spots_takes_them(self, operator_client):
        spots = ParkingSpotFactory.create_batch(2)

        operator_client.post(
            CHANGELIST, {"action": "deactivate", "_selected_action": [s.pk for s in spots]}
        )

        assert events() == [(1, spots[0].pk, "taken"), (2, spots[1].pk, "taken")]

    def test_offering_spots_frees_those_no_reservation_holds(self, operator_client):
        free, held = ParkingSpotFactory.create_batch(2, active=False)
        ReservationFactory(spot=held)

        operator_client.post(
            CHANGELIST, {"action": "activate", "_selected_action": [free.pk, held.pk]}
        )

        assert events() == [(1, free.pk, "freed")]

    def test_offering_spots_already_offered_emits_nothing(self, operator_client):
        spot = ParkingSpotFactory(active=True)

        operator_client.post(CHANGELIST, {"action": "activate", "_selected_action": [spot.pk]})

        assert events() == []

    def test_repricing_a_spot_updates_it(self, operator_client):
        spot = ParkingSpotFactory(rate="4.50")

        operator_client.post(f"{CHANGELIST}{spot.pk}/change/", edit_form(spot, rate="5.25"))

        assert ParkingSpot.objects.get(pk=spot.pk).rate == Decimal("5.25")
        assert events() == [(1, spot.pk, "updated")]

    def test_unticking_active_in_the_form_takes_the_spot(self, operator_client):
        spot = ParkingSpotFactory()

        operator_client.post(f"{CHANGELIST}{spot.pk}/change/", edit_form(spot, active=False))

        assert events() == [(1, spot.pk, "taken")]

    def test_a_new_offered_spot_is_freed(self, operator_client):
        operator_client.post(
            f"{CHANGELIST}add/", {"lat": "40.7", "lng": "-73.9", "rate": "3.00", "active": "on"}
        )

        assert events() == [(1, ParkingSpot.objects.get().pk, "freed")]

    def test_saving_an_unchanged_spot_emits_nothing(self, operator_client):
        spot = ParkingSpotFactory()

        operator_client.post(f"{CHANGELIST}{spot.pk}/change/", edit_form(spot))

        assert events() == []


class TestNumbering:
    def test_numbers_follow_on_across_transactions(self):
        first, second = ParkingSpotFactory.create_batch(2)

        record([second.pk, first.pk])
        record([first.pk], kind="freed")

        assert events() == [(1, first.pk, "taken"), (2, second.pk, "taken"), (3, first.pk, "freed")]
        assert current_seq() == 3

    def test_a_rolled_back_change_uses_no_number(self):
        spot = ParkingSpotFactory()

        with pytest.raises(RuntimeError):
            record_then_fail([spot.pk])
        record([spot.pk])

        assert events() == [(1, spot.pk, "taken")]

    @pytest.mark.django_db(transaction=True)
    def test_outside_a_transaction_it_refuses(self):
        spot = ParkingSpotFactory()

        with pytest.raises(NotInTransaction):
            record_availability_events(spot_ids=[spot.pk], kind="taken", at=timezone.now())

    def test_an_unknown_kind_is_refused(self):
        spot = ParkingSpotFactory()

        with pytest.raises(ValueError, match="gone"):
            record([spot.pk], kind="gone")

    def test_a_lost_sequence_row_restarts_after_the_last_event(self):
        spot = ParkingSpotFactory()
        record([spot.pk])
        AvailabilitySequence.objects.all().delete()

        assert current_seq() == 1
        record([spot.pk], kind="freed")
        assert events() == [(1, spot.pk, "taken"), (2, spot.pk, "freed")]

    def test_freeing_a_spot_that_is_held_or_withdrawn_emits_nothing(self):
        held = ReservationFactory().spot
        withdrawn = ParkingSpotFactory(active=False)

        record([held.pk, withdrawn.pk], kind="freed")

        assert events() == []
        assert current_seq() == 0


class TestReaders:
    def test_events_after_a_number_in_order_with_their_spots_place(self):
        spot = ParkingSpotFactory(lat=Decimal("40.700000"), lng=Decimal("-73.900000"))
        record([spot.pk])
        record([spot.pk], kind="updated")

        changes = availability_events_after(seq=0, limit=10)

        assert [(c.seq, c.spot_id, c.kind) for c in changes] == [
            (1, spot.pk, "taken"),
            (2, spot.pk, "updated"),
        ]
        assert (changes[0].lat, changes[0].lng) == (40.7, -73.9)
        assert [c.seq for c in availability_events_after(seq=1, limit=10)] == [2]
        assert [c.seq for c in availability_events_after(seq=0, limit=1)] == [1]

    def test_a_box_snapshot_holds_the_free_spots_inside_with_their_list_json(self):
        inside = ParkingSpotFactory(lat=Decimal("40.750000"), lng=Decimal("-73.980000"))
        ParkingSpotFactory(lat=Decimal("40.750000"), lng=Decimal("-73.900000"))  # east of it
        held = ParkingSpotFactory(lat=Decimal("40.751000"), lng=Decimal("-73.981000"))
        ParkingSpotFactory(lat=Decimal("40.752000"), lng=Decimal("-73.982000"), active=False)
        with transaction.atomic():
            ReservationFactory(spot=held)
            record_availability_events(spot_ids=[held.pk], kind="taken", at=timezone.now())

        snapshot = available_spots_in_box(
            south=40.74, west=-73.99, north=40.76, east=-73.97, limit=100
        )

        listed = spot_json_rows(ParkingSpot.objects.filter(pk=inside.pk))
        assert snapshot.spots == list(listed)
        assert snapshot.seq == 1
        assert not snapshot.truncated

    def test_a_box_snapshot_stops_at_its_limit(self):
        ParkingSpotFactory.create_batch(3)

        snapshot = available_spots_in_box(south=40, west=-74, north=41, east=-73, limit=2)

        assert len(snapshot.spots) == 2
        assert snapshot.truncated

    def test_a_box_inside_out_is_refused(self):
        with pytest.raises(ValueError, match="south <= north"):
            available_spots_in_box(south=41, west=-74, north=40, east=-73, limit=10)

    def test_spot_json_for_freed_or_updated_spots_leaves_out_those_taken_again(self):
        free, held = ParkingSpotFactory.create_batch(2)
        ReservationFactory(spot=held)

        found = available_spots_json(spot_ids=[free.pk, held.pk])

        assert list(found) == [free.pk]
        assert found[free.pk] == spot_json_rows(ParkingSpot.objects.filter(pk=free.pk)).get()


class TestRetention:
    def test_events_older_than_the_window_are_pruned_and_resuming_from_them_is_refused(
        self, settings
    ):
        settings.AVAILABILITY_EVENTS_KEEP_HOURS = 24
        spot = ParkingSpotFactory()
        now = timezone.now()
        record([spot.pk])
        record([spot.pk])
        # Events are stamped when written: aged here.
        AvailabilityEvent.objects.filter(seq=1).update(created_at=now - timedelta(hours=25))
        AvailabilityEvent.objects.filter(seq=2).update(created_at=now - timedelta(hours=1))

        assert prune_availability_events(now=now) == 1
        assert prune_availability_events(now=now) == 0

        assert [seq for seq, *_ in events()] == [2]
        assert events_kept_after(seq=1)
        assert not events_kept_after(seq=0)

    def test_beyond_the_row_limit_the_oldest_are_pruned(self, settings):
        settings.AVAILABILITY_EVENTS_KEEP_ROWS = 2
        spot = ParkingSpotFactory()
        for _ in range(5):
            record([spot.pk])

        prune_availability_events()

        assert [seq for seq, *_ in events()] == [4, 5]

    def test_resuming_from_the_last_number_is_possible_and_from_beyond_it_is_not(self):
        spot = ParkingSpotFactory()
        record([spot.pk])

        assert events_kept_after(seq=1)
        assert not events_kept_after(seq=2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestCommitNotification:
    """The socket servers LISTEN for the events' commits (live.relay.CommitBell)."""

    @pytest.fixture
    def listener(self):
        with psycopg.connect(autocommit=True, **listener_connection_params()) as listening:
            listening.execute(f"LISTEN {AvailabilityEvent.COMMITTED_CHANNEL}")
            yield listening

    @staticmethod
    def heard(listener) -> int:
        """How many notifications came, waiting a little for the first: a notification is sent
        at the commit, before the committing call returns, so none is still on its way."""
        return len(list(listener.notifies(timeout=NOTIFY_WAIT_SECONDS, stop_after=1)))

    def test_a_committed_change_notifies_once_however_many_events(self, listener):
        spots = ParkingSpotFactory.create_batch(2)

        with transaction.atomic():
            record_availability_events(spot_ids=[spots[0].pk], kind="taken", at=timezone.now())
            record_availability_events(spot_ids=[spots[1].pk], kind="taken", at=timezone.now())

        assert self.heard(listener) == 1
        assert self.heard(listener) == 0

    def test_a_rolled_back_change_notifies_nothing(self, listener):
        spot = ParkingSpotFactory()

        with pytest.raises(RuntimeError):
            record_then_fail([spot.pk])

        assert self.heard(listener) == 0
