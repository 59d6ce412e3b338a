"""What the relay reads: committed events in order, never past the committed sequence row."""

import pytest
from django.utils import timezone

from live.selectors import placed_events_after
from live.tests.conftest import record_event
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
    assert [(event["seq"], event["spot"]["id"]) for event in events] == [(2, inside.id)]
