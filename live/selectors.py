"""Availability events as the sockets send them: each with its spot's place, and the spot's
JSON when it became free or changed."""

import json
from dataclasses import dataclass

from spots.models import AvailabilityEvent, ParkingSpot
from spots.selectors import availability_events_after
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
    """The events after ``seq`` (at most ``limit``) up to the first one not committed yet,
    and the ``seq`` they run to. Each event is a dict the channel layer can carry: ``seq``,
    ``kind``, ``spot_id``, ``lat``, ``lng`` and ``spot``, the list routes' JSON of a freed or
    updated spot (else None). An event whose spot is gone counts but is not returned."""
    events = []
    for event in availability_events_after(seq=seq, limit=limit):
        # Numbers are gap-free once committed: a hole is a transaction still committing.
        if event.seq != seq + len(events) + 1:
            break
        events.append(event)
    spot_ids = {event.spot_id for event in events}
    places = {
        spot_id: (float(lat), float(lng))
        for spot_id, lat, lng in ParkingSpot.objects.filter(id__in=spot_ids).values_list(
            "id", "lat", "lng"
        )
    }
    shown_ids = {event.spot_id for event in events if event.kind != AvailabilityEvent.Kind.TAKEN}
    rows = spot_json_rows(ParkingSpot.objects.filter(id__in=shown_ids))
    spot_json = {spot["id"]: spot for spot in map(json.loads, rows)}
    placed = [
        {
            "seq": event.seq,
            "kind": event.kind,
            "spot_id": event.spot_id,
            "lat": places[event.spot_id][0],
            "lng": places[event.spot_id][1],
            "spot": spot_json.get(event.spot_id),
        }
        for event in events
        if event.spot_id in places
    ]
    return (events[-1].seq if events else seq), placed
