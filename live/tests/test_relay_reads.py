"""What the relay reads: committed events in order, never past the committed sequence row."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from live.relay import Relay
from live.selectors import placed_events_after, reservation_events_json_after
from live.tests.conftest import record_event
from live.tests.drivers import Driver, save_card
from reservations.selectors import current_reservation_event_seq
from spots.models import AvailabilityEvent

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
