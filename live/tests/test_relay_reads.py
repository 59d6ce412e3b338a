"""What the relay reads: committed events in order, never past the committed sequence row."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from live.relay import Relay
from live.selectors import Box, placed_events_after, reservation_events_json_after
from live.tests.conftest import record_event
from live.tests.drivers import Driver, save_card
from reservations.selectors import current_reservation_event_seq
from spots.models import AvailabilityEvent
from spots.selectors import current_seq

pytestmark = pytest.mark.django_db


def test_the_relay_reads_no_further_than_the_committed_sequence(inside):
    record_event(inside, "taken")
    # An event row beyond the sequence row: its number is not the committed last one, as if
    # written outside the outbox service; the relay leaves it alone.
    AvailabilityEvent.objects.create(seq=3, spot=inside, kind="freed", created_at=timezone.now())

    through, events = placed_events_after(seq=0, limit=10)

    assert through == 1
    assert [event["seq"] for event in events] == [1]


def test_an_event_of_a_deleted_spot_counts_but_is_not_sent(inside, outside):
    record_event(outside, "taken")
    record_event(inside, "freed")
    outside.delete()

    through, events = placed_events_after(seq=0, limit=10)

    assert through == 2
    assert [(event["seq"], json.loads(event["spot_json"])["id"]) for event in events] == [
        (2, inside.id)
    ]


def test_reservation_events_are_rendered_only_for_owners_listening_here(inside, outside):
    signed_in, guest = Driver.signed_in(), Driver.guest(1)
    save_card(signed_in.book(inside))
    guests_reservation = guest.book(outside)
    save_card(guests_reservation)

    def listening(user_id: int | None, reservation_id: int) -> bool:
        return user_id is None and reservation_id == guests_reservation.pk

    through, events = reservation_events_json_after(seq=0, limit=10, listening=listening)

    # Every event counted, so the next read starts after them; the guest's alone rendered.
    assert through == current_reservation_event_seq()
    assert {(event["user_id"], event["reservation_id"]) for event in events} == {
        (None, guests_reservation.pk)
    }


def test_no_reservation_is_rendered_when_nobody_listens(inside, django_assert_max_num_queries):
    save_card(Driver.guest(1).book(inside))

    with django_assert_max_num_queries(2):  # the sequence row and the events: no rendering
        through, events = reservation_events_json_after(
            seq=0, limit=10, listening=lambda user_id, reservation_id: False
        )

    assert (through, events) == (current_reservation_event_seq(), [])


def test_the_relay_listens_for_an_owner_while_a_socket_of_theirs_is_open():
    async_to_sync(_joining_and_leaving)(Relay())


async def _joining_and_leaving(relay: Relay) -> None:
    await relay.join("first", [relay.user_group(1)])
    await relay.join("second", [relay.user_group(1)])
    await relay.join("guest", [relay.guest_group(7)])

    await relay.leave("first")
    assert relay.listening()(1, 100)  # the second socket is still open
    await relay.leave("second")
    assert not relay.listening()(1, 100)

    await relay.join("guest", [relay.user_group(2)])  # the socket signed in as someone else
    assert not relay.listening()(None, 7)
    assert relay.listening()(2, 200)


def test_a_quiet_poll_reads_the_sequence_rows_alone(inside, django_assert_num_queries):
    Driver.signed_in().book(inside)  # an availability event and a reservation event
    availability, reservations = current_seq(), current_reservation_event_seq()

    with django_assert_num_queries(1):
        assert placed_events_after(seq=availability, limit=10) == (availability, [])
    with django_assert_num_queries(1):
        assert reservation_events_json_after(
            seq=reservations, limit=10, listening=lambda *_: True
        ) == (reservations, [])


class RecordingWatcher:
    def __init__(self) -> None:
        self.batches: list[tuple[int, int, list[int]]] = []

    def take_batch(self, from_seq: int, seq: int, events: list[dict]) -> None:
        self.batches.append((from_seq, seq, [event["seq"] for event in events]))


def test_a_socket_is_handed_only_the_events_inside_its_box():
    relay = Relay()
    west_half, east_half, elsewhere = RecordingWatcher(), RecordingWatcher(), RecordingWatcher()
    # Two boxes in the same tiles of the map, side by side, and one far away.
    relay.watch(west_half, Box(south=40.7501, west=-73.9899, north=40.7549, east=-73.9851))
    relay.watch(east_half, Box(south=40.7501, west=-73.9849, north=40.7549, east=-73.9801))
    relay.watch(elsewhere, Box(south=40.6001, west=-73.9899, north=40.6049, east=-73.9851))

    async_to_sync(relay.publish)(
        10, 12, [_placed(11, lat=40.7525, lng=-73.9875), _placed(12, lat=40.7525, lng=-73.9825)]
    )

    assert west_half.batches == [(10, 12, [11])]
    assert east_half.batches == [(10, 12, [12])]
    assert elsewhere.batches == []  # its next message's range still starts at its last seq
    assert relay.published == 12


def test_a_socket_watching_another_box_is_handed_only_the_new_boxs_events():
    relay = Relay()
    watcher = RecordingWatcher()
    relay.watch(watcher, Box(south=40.6001, west=-73.9899, north=40.6049, east=-73.9851))
    relay.watch(watcher, Box(south=40.7501, west=-73.9899, north=40.7549, east=-73.9851))

    async_to_sync(relay.publish)(
        0, 2, [_placed(1, lat=40.6025, lng=-73.9875), _placed(2, lat=40.7525, lng=-73.9875)]
    )

    assert watcher.batches == [(0, 2, [2])]
    relay.unwatch(watcher)
    assert relay.watchers == {}


def _placed(seq: int, *, lat: float, lng: float) -> dict:
    return {"seq": seq, "kind": "taken", "spot_id": seq, "lat": lat, "lng": lng, "at": 0.0}
