"""Events as the sockets send them: availability events with their spot's place (and the
spot's JSON when it became free or changed); reservation events with their reservation's JSON
as its owner's views render it."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from payments.selectors import charge_outcomes
from reservations.models import Reservation, ReservationEvent
from reservations.selectors import (
    StreamOwner,
    current_reservation_event_seq,
    reservation_events_after,
)
from reservations.serializers import reservation_json, utc_iso
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
    dict: ``seq``, ``kind``, ``spot_id``, ``lat``, ``lng``, ``spot_json``, the list routes'
    JSON text of a freed or updated spot as the database wrote it (else None: sockets put it
    in their messages as it is, never parsed and written again), and ``at``, when the event
    was written (Unix time, for the server's delay figures).

    The sequence row is read first: every event numbered up to it has committed (the number and
    the event are written in one transaction, docs/live.md), so a number missing below it is an
    event removed with its spot, skipped, not one still committing."""
    last = current_seq()
    if last <= seq:  # nothing committed since: most polls of a quiet server
        return seq, []
    events = [
        event for event in availability_events_after(seq=seq, limit=limit) if event.seq <= last
    ]
    through = _read_through(events, last=last, limit=limit)
    shown_ids = {event.spot_id for event in events if event.kind != AvailabilityEvent.Kind.TAKEN}
    spot_json = (
        dict(
            spot_json_rows(ParkingSpot.objects.filter(id__in=shown_ids)).values_list(
                "id", "spot_json"
            )
        )
        if shown_ids  # a booking's read: its spots are only taken
        else {}
    )
    placed = [
        {
            "seq": event.seq,
            "kind": event.kind,
            "spot_id": event.spot_id,
            "lat": event.lat,
            "lng": event.lng,
            "spot_json": spot_json.get(event.spot_id),
            "at": event.created_at.timestamp(),
        }
        for event in events
    ]
    return through, placed


def _read_through(events: list, *, last: int, limit: int) -> int:
    """How far a read of at most ``limit`` events after some number, up to the committed
    ``last``, has seen: its last event's number if it was cut short, else ``last``."""
    return events[-1].seq if len(events) == limit else last


def owners_reservations_json(reservations: Iterable[Reservation]) -> dict[int, dict]:
    """Each reservation's JSON as the API's reservation routes render it, with the charge's
    outcome its owner sees (``payments.selectors.charge_outcomes``), by id."""
    reservations = list(reservations)
    outcomes = charge_outcomes(reservation_ids=[reservation.pk for reservation in reservations])
    return {
        reservation.pk: {**reservation_json(reservation), **outcomes[reservation.pk]}
        for reservation in reservations
    }


def _streamed(events: list[ReservationEvent]) -> list[dict]:
    """The events as the channel layer carries them, each with its reservation as it is now."""
    if not events:
        return []
    reservations = owners_reservations_json(
        Reservation.objects.filter(pk__in={event.reservation_id for event in events})
    )
    return [
        {
            "seq": event.seq,
            "kind": event.kind,
            "at": utc_iso(event.created_at),
            "user_id": event.user_id,
            "reservation_id": event.reservation_id,
            "reservation": reservations[event.reservation_id],
        }
        for event in events
        if event.reservation_id in reservations
    ]


def reservation_events_json_after(
    *, seq: int, limit: int, listening: Callable[[int | None, int], bool]
) -> tuple[int, list[dict]]:
    """The relay's read: the committed reservation events after ``seq`` (at most ``limit``)
    and the number they run to (``placed_events_after`` explains the order of the reads).
    Only the events for which ``listening(user_id, reservation_id)`` holds (an owner with a
    socket on this server) are rendered and returned: a reservation's JSON costs queries, and
    most owners have no socket open, or have it on another server."""
    last = current_reservation_event_seq()
    if last <= seq:
        return seq, []
    events = reservation_events_after(seq=seq, through=last, limit=limit)
    wanted = [event for event in events if listening(event.user_id, event.reservation_id)]
    return _read_through(events, last=last, limit=limit), _streamed(wanted)


def owners_snapshot(owner: StreamOwner) -> tuple[int, list[dict]]:
    """What a socket starts from: the last committed event's number, read first, then the
    owner's reservations as they are (so the state is at least as new as the number)."""
    seq = current_reservation_event_seq()
    reservations = owners_reservations_json(owner.current_reservations())
    return seq, list(reservations.values())


def owners_events_json_after(
    owner: StreamOwner, *, seq: int, through: int, limit: int
) -> list[dict]:
    """The owner's events numbered after ``seq`` up to ``through`` that are still kept: what a
    socket authenticating with ``since`` is replayed."""
    events = reservation_events_after(seq=seq, through=through, limit=limit, owner=owner)
    return _streamed(events)
