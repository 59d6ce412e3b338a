"""Availability events as the sockets send them: each with its spot's place, and the spot's
JSON when it became free or changed."""

import json
from dataclasses import dataclass

from spots.models import AvailabilityEvent, ParkingSpot
from spots.selectors import availability_events_after, current_seq
from spots.sql import spot_json_rows


@dataclass(frozen=True)
class Box:
    south: float
    west: float
    north: float
    east: float

    def holds(self, lat: float, lng: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lng <= self.east


def placed_events_after(*, seq: int, limit: int) -> tuple[int, list[dict]]:
    """The events after ``seq`` (at most ``limit``) and the ``seq`` they run to. Each event is a
    dict the channel layer can carry: ``seq``, ``kind``, ``spot_id``, ``lat``, ``lng`` and
    ``spot``, the list routes' JSON of a freed or updated spot (else None).

    The sequence row is read first: every event numbered up to it has committed (the number and
    the event are written in one transaction, docs/live.md), so a number missing below it is an
    event removed with its spot, skipped, not one still committing."""
    last = current_seq()
    events = [
        event for event in availability_events_after(seq=seq, limit=limit) if event.seq <= last
    ]
    through = events[-1].seq if len(events) == limit else last
    shown_ids = {event.spot_id for event in events if event.kind != AvailabilityEvent.Kind.TAKEN}
    rows = spot_json_rows(ParkingSpot.objects.filter(id__in=shown_ids))
    spot_json = {spot["id"]: spot for spot in map(json.loads, rows)}
    placed = [
        {
            "seq": event.seq,
            "kind": event.kind,
            "spot_id": event.spot_id,
            "lat": event.lat,
            "lng": event.lng,
            "spot": spot_json.get(event.spot_id),
        }
        for event in events
    ]
    return through, placed
