"""Reads of reservations: who may see which, and which are live or ended."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User, normalize_email
from reservations.errors import SpotNotOffered
from reservations.models import Reservation, ReservationEvent, ReservationEventSequence
from reservations.pricing import Fee, fee_for_minutes
from reservations.rules import check_length
from securemyspot.prepared import Param, PreparedQuery
from spots.models import ParkingSpot


def reservation_by_id(*, reservation_id: int) -> Reservation:
    """For a signed link, which is itself the proof of access."""
    try:
        return Reservation.objects.select_related("spot").get(pk=reservation_id)
    except Reservation.DoesNotExist:
        raise Http404 from None


def reservation_of_user(*, user: User, reservation_id: int) -> Reservation:
    """The signed-in user's own reservation; anyone else's is "not found"."""
    try:
        return Reservation.objects.select_related("spot").get(pk=reservation_id, user=user)
    except Reservation.DoesNotExist:
        raise Http404 from None


def reservation_of_guest(*, email: str, reservation_id: int) -> Reservation:
    """A guest's reservation by id and email (any case). An account's reservation is "not
    found" here, so a guest route never reaches it."""
    try:
        return Reservation.objects.select_related("spot").get(
            pk=reservation_id, email=normalize_email(email), user__isnull=True
        )
    except Reservation.DoesNotExist:
        raise Http404 from None


def _live_at(at: datetime) -> Q:
    return Q(status__in=Reservation.LIVE_STATUSES, end_time__gt=at)


def live_reservations_of_user(*, user: User | int, at: datetime | None = None) -> QuerySet:
    """Not yet ended, newest first."""
    at = at or timezone.now()
    return (
        Reservation.objects.filter(_live_at(at), user=user)
        .select_related("spot")
        .order_by("-start_time", "-id")
    )


def ended_reservations_of_user(*, user: User, at: datetime | None = None) -> QuerySet:
    """Ended by time or by the driver, cancelled or lapsed unpaid; newest first."""
    at = at or timezone.now()
    return (
        Reservation.objects.filter(user=user)
        .exclude(_live_at(at))
        .select_related("spot")
        .order_by("-start_time", "-id")
    )


def live_reservations_overlapping(
    *, spot_id: int, start: datetime, end: datetime, excluding_id: int | None = None
) -> QuerySet:
    """Live reservations of the spot that share any instant with ``[start, end)``."""
    overlapping = live_reservations_during(start=start, end=end).filter(spot_id=spot_id)
    return overlapping.exclude(pk=excluding_id) if excluding_id else overlapping


def live_reservations_during(*, start: datetime, end: datetime) -> QuerySet:
    """The reservations holding their spots at some instant of ``[start, end)``: what spots'
    availability reads (spots.holds)."""
    return Reservation.objects.filter(
        status__in=Reservation.LIVE_STATUSES, start_time__lt=end, end_time__gt=start
    )


def quote(*, spot_id: int, minutes: int) -> tuple[ParkingSpot, Fee]:
    """The price of reserving the spot for ``minutes``, before booking."""
    check_length(timedelta(minutes=minutes), field="minutes")
    spot = ParkingSpot.objects.filter(pk=spot_id).first()
    if spot is None:
        raise Http404
    if not spot.active:
        raise SpotNotOffered
    return spot, fee_for_minutes(spot.rate, minutes)


def _unpaid_holds(with_address: bool, first: int) -> QuerySet[Reservation]:
    fields = Reservation._meta
    holder = Q(email=Param("email", fields.get_field("email")))
    if with_address:
        holder |= Q(client_address=Param("client_address", fields.get_field("client_address")))
    return (
        Reservation.objects.filter(
            holder,
            status=Reservation.Status.PENDING_PAYMENT,
            hold_expires_at__gt=Param("now", fields.get_field("hold_expires_at")),
        )
        .order_by("hold_expires_at")
        .values_list("email", "client_address", "hold_expires_at")[:first]
    )


# Asked by every booking: compiled once per shape, not built by the ORM each time (the building
# cost more CPU than the rest of the booking's checks; docs/reservations.md, "Booking CPU").
_UNPAID_HOLDS = PreparedQuery(_unpaid_holds)


def unpaid_holds_of(
    *, email: str, client_address: str | None, now: datetime, first: int
) -> list[tuple[str, str | None, datetime]]:
    """(email, client address, hold expiry) of the first ``first`` unpaid holds, soonest lapse
    first, that ``email`` or ``client_address`` has: one query, over the email index and
    ``reservation_address_hold_idx``."""
    rows = _UNPAID_HOLDS.rows(
        (client_address is not None, first),
        {"email": email, "client_address": client_address, "now": now},
    )
    # A plain cursor on SQLite gives the expiry naive (it is stored in UTC); PostgreSQL aware.
    return [(email, address, _aware(expiry)) for email, address, expiry in rows]


def _aware(expiry: datetime | str) -> datetime:
    expiry = parse_datetime(expiry) if isinstance(expiry, str) else expiry
    return expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)


def current_reservation_event_seq() -> int:
    """The number of the last committed reservation event (0 before any)."""
    last = ReservationEventSequence.objects.values_list("last", flat=True).first()
    if last is not None:
        return last
    return ReservationEvent.objects.aggregate(last=Max("seq"))["last"] or 0


@dataclass(frozen=True)
class StreamOwner:
    """Whose reservation events a socket receives: a signed-in user's (every reservation of
    theirs), or a guest's (the one reservation they named with its email)."""

    user_id: int | None = None
    guest_reservation_id: int | None = None

    def owns(self, *, user_id: int | None, reservation_id: int) -> bool:
        if self.user_id is not None:
            return user_id == self.user_id
        return user_id is None and reservation_id == self.guest_reservation_id

    def events(self) -> QuerySet[ReservationEvent]:
        if self.user_id is not None:
            return ReservationEvent.objects.filter(user_id=self.user_id)
        return ReservationEvent.objects.filter(
            user_id__isnull=True, reservation_id=self.guest_reservation_id
        )

    def current_reservations(self) -> QuerySet[Reservation]:
        """A user's live reservations (as their list route gives them); a guest's one."""
        if self.user_id is not None:
            return live_reservations_of_user(user=self.user_id)
        return Reservation.objects.filter(pk=self.guest_reservation_id, user__isnull=True)


def reservation_events_after(
    *, seq: int, limit: int, through: int | None = None, owner: StreamOwner | None = None
) -> list[ReservationEvent]:
    """The first ``limit`` committed reservation events numbered after ``seq`` (and up to
    ``through``), in order; only ``owner``'s if given. Events commit in the order of their
    numbers, so what one read up to the sequence's last number sees is gap-free."""
    events = ReservationEvent.objects.all() if owner is None else owner.events()
    events = events.filter(seq__gt=seq)
    if through is not None:
        events = events.filter(seq__lte=through)
    return list(events.order_by("seq")[:limit])
