"""Writes to parking spots, and the availability events every change of availability writes."""

from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from securemyspot.outbox import require_transaction, take_sequence_numbers
from spots.models import AvailabilityEvent, AvailabilitySequence, ParkingSpot
from spots.selectors import available_spots

SEQUENCE_TABLE = AvailabilitySequence._meta.db_table
EVENT_TABLE = AvailabilityEvent._meta.db_table
# Fields of a spot that its JSON on the map shows.
SHOWN_FIELDS = frozenset({"lat", "lng", "rate"})


def record_availability_events(
    *, spot_ids: Collection[int], kind: AvailabilityEvent.Kind | str, at: datetime
) -> None:
    """Write one event of ``kind`` per spot, numbered next in commit order.

    Call it inside the transaction of the change, as its last statement: the sequence row
    stays locked from here until the commit, so the transactions that change availability
    commit in the order of their numbers, and no number is lost to a rollback. Lock order: a
    transaction locks spots, then reservations, then the sequence row, never the other way.
    """
    spot_ids = set(spot_ids)
    if not spot_ids:
        return
    require_transaction("record_availability_events")
    kind = AvailabilityEvent.Kind(kind)
    if kind == AvailabilityEvent.Kind.FREED:
        # Only a spot that is free is freed: an unpaid hold that ran past its end, expired
        # later, may meet a newer booking of its spot. Asked under the sequence's lock, so a
        # booking committing meanwhile is seen here, or numbers its "taken" after this event.
        _take_sequence_numbers(0)
        spot_ids = set(
            available_spots(start=at).filter(pk__in=spot_ids).values_list("pk", flat=True)
        )
        if not spot_ids:
            return
    _write_events(sorted(spot_ids), kind.value)


# On PostgreSQL the sequence is advanced and the events inserted by one statement: a round trip
# and an ORM insert fewer per booking (docs/live.md, "Cost per booking").
NUMBER_AND_INSERT = f"""
    WITH taken AS (
        UPDATE {SEQUENCE_TABLE} SET last = last + %s WHERE id = %s RETURNING last
    )
    INSERT INTO {EVENT_TABLE} (seq, spot_id, kind, created_at)
    SELECT taken.last - %s + spot.position, spot.id, %s, clock_timestamp()
    FROM taken, UNNEST(%s::bigint[]) WITH ORDINALITY AS spot(id, position)
"""


def _write_events(spot_ids: list[int], kind: str) -> None:
    """Numbers and inserts the events. Each is stamped when it is written, the transaction's
    last statement, not with the change's ``at``: what follows it is the commit, so the live
    delays measured from it (docs/live.md) start at the commit, not at the start of a long
    transaction (the engine ending 500 reservations in one)."""
    count = len(spot_ids)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            params = [count, AvailabilitySequence.ONLY_ROW, count, kind, spot_ids]
            cursor.execute(NUMBER_AND_INSERT, params)
            if cursor.rowcount == count:
                return
        # No sequence row yet: nothing was inserted. Make it, and number the events below.
    last = _take_sequence_numbers(count)
    written_at = timezone.now()
    AvailabilityEvent.objects.bulk_create(
        AvailabilityEvent(
            seq=last - count + position, spot_id=spot_id, kind=kind, created_at=written_at
        )
        for position, spot_id in enumerate(spot_ids, start=1)
    )


def _take_sequence_numbers(count: int) -> int:
    return take_sequence_numbers(
        sequence_table=SEQUENCE_TABLE,
        event_table=EVENT_TABLE,
        row_id=AvailabilitySequence.ONLY_ROW,
        count=count,
    )


@transaction.atomic
def set_spots_active(*, spots: QuerySet[ParkingSpot], active: bool) -> int:
    """Offer the spots for reservation, or withdraw them; returns how many changed.

    A bulk update skips ``auto_now``, so ``updated_at`` is set here: the availability ETag
    depends on it. A withdrawn spot is taken from the map; an offered one is freed on it
    unless a reservation holds it now (``record_availability_events``).
    """
    now = timezone.now()
    changed = list(spots.exclude(active=active).values_list("pk", flat=True))
    ParkingSpot.objects.filter(pk__in=changed).exclude(active=active).update(
        active=active, updated_at=now
    )
    kind = AvailabilityEvent.Kind.FREED if active else AvailabilityEvent.Kind.TAKEN
    record_availability_events(spot_ids=changed, kind=kind, at=now)
    return len(changed)


@transaction.atomic
def save_spot(*, spot: ParkingSpot, changed: Collection[str]) -> ParkingSpot:
    """Save an operator's edit of ``spot`` (new, or with the fields ``changed``), and tell the
    map: a spot newly offered (and not held) is freed, one withdrawn is taken, one whose
    location or rate changed is updated."""
    adding = spot._state.adding
    spot.save()
    now = spot.updated_at
    was_active = not spot.active if "active" in changed else spot.active
    if spot.active and (adding or not was_active):
        kind = AvailabilityEvent.Kind.FREED
    elif was_active and not spot.active and not adding:
        kind = AvailabilityEvent.Kind.TAKEN
    elif spot.active and SHOWN_FIELDS.intersection(changed):
        kind = AvailabilityEvent.Kind.UPDATED
    else:
        return spot
    record_availability_events(spot_ids=[spot.pk], kind=kind, at=now)
    return spot


def prune_availability_events(*, now: datetime | None = None) -> int:
    """Delete events older than ``AVAILABILITY_EVENTS_KEEP_HOURS`` or beyond the newest
    ``AVAILABILITY_EVENTS_KEEP_ROWS``: always a prefix of the sequence, so what is kept stays
    gap-free. A client resuming from before it gets a snapshot. Safe to run twice."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.AVAILABILITY_EVENTS_KEEP_HOURS)
    newest = AvailabilityEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    if newest is None:
        return 0
    # Numbers follow time, so the first recent event is found reading from the oldest, through
    # the rows to be deleted anyway, with no index on the time.
    first_recent = (
        AvailabilityEvent.objects.filter(created_at__gte=cutoff)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    last_old = newest if first_recent is None else first_recent - 1
    last_surplus = newest - settings.AVAILABILITY_EVENTS_KEEP_ROWS
    deleted, _ = AvailabilityEvent.objects.filter(seq__lte=max(last_old, last_surplus)).delete()
    return deleted
