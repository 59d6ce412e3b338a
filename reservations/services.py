"""Every change to a reservation: reserve, confirm, amend, end, cancel, expire.

Double booking is impossible by construction: on PostgreSQL an exclusion constraint refuses
two live reservations of one spot that overlap in time, whatever the code does; on SQLite each
write transaction holds the database's write lock from its first statement (settings:
``transaction_mode = IMMEDIATE``), so the overlap check and the insert cannot interleave. A
booking on PostgreSQL leaves the check to the constraint (its violation is the same clear
error); extensions check first on both. See docs/reservations.md.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.models import User, normalize_email
from accounts.selectors import accounts_with_email, email_is_verified
from notifications.models import EmailKind
from notifications.services import queue_reservation_email
from reservations import signals
from reservations.errors import (
    EmailUnverified,
    ReservationEnded,
    ReservationNotLive,
    ReservationNotPending,
    ReservationStarted,
    SpotNotOffered,
    SpotUnavailable,
    TooManyUnpaidHolds,
)
from reservations.models import Reservation, ReservationEvent, ReservationEventSequence
from reservations.pricing import fee_for_period
from reservations.rules import check_length
from reservations.selectors import live_reservations_overlapping, unpaid_holds_of
from securemyspot.db import retry_on_transaction_conflict
from securemyspot.errors import DomainError
from securemyspot.outbox import require_transaction, take_sequence_numbers
from securemyspot.tasks import enqueue_after_commit
from spots.models import AvailabilityEvent, ParkingSpot
from spots.services import record_availability_events
from spots.windows import check_start_time

EXCLUSION_VIOLATION = "23P01"  # PostgreSQL's SQLSTATE for a violated exclusion constraint


def _is_overlap(error: IntegrityError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == EXCLUSION_VIOLATION


def _database_refuses_overlap() -> bool:
    """PostgreSQL's exclusion constraint refuses an overlapping booking by itself, and its
    violation becomes SpotUnavailable: asking first would only cost a query. SQLite has no such
    constraint, so there the service asks, under the write lock."""
    return connection.vendor == "postgresql"


def _booking_email(*, user: User | None, email: str | None) -> str:
    """The account's email, or the guest's. That a guest's belongs to no account is asked
    with the spot (``lock_spot``): one query fewer. An account whose address must be
    confirmed first (``EMAIL_VERIFICATION=mandatory``) may not book yet; a guest is not asked
    (docs/accounts.md)."""
    if user is not None:
        if settings.EMAIL_VERIFICATION == "mandatory" and not email_is_verified(user=user):
            raise EmailUnverified
        return user.email
    if not email:
        raise DomainError("This field is required.", field="email")
    return normalize_email(email)


@retry_on_transaction_conflict()
def reserve_spot(
    *,
    spot_id: int,
    user: User | None,
    email: str | None = None,
    minutes: int,
    start_time: datetime | None = None,
    client_address: str | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Hold the spot for ``minutes`` from ``start_time`` (default now), pending payment.

    A guest (``user`` None) books with an email that belongs to no account. An email (so an
    account) and a ``client_address`` hold only so many unpaid reservations at once
    (``_check_unpaid_hold_limits``).
    """
    now = now or timezone.now()
    check_length(timedelta(minutes=minutes), field="reservation_length")
    start = now if start_time is None else check_start_time(start_time, now=now)
    end = start + timedelta(minutes=minutes)
    email = _booking_email(user=user, email=email)
    try:
        with transaction.atomic():
            _check_unpaid_hold_limits(email=email, client_address=client_address, now=now)
            spot = lock_spot(spot_id, guest_email=None if user else email)
            if spot is None:
                raise Http404
            if not spot.active:
                raise SpotNotOffered
            if not _database_refuses_overlap() and (
                live_reservations_overlapping(spot_id=spot.pk, start=start, end=end).exists()
            ):
                raise SpotUnavailable
            reservation = Reservation.objects.create(
                user=user,
                email=email,
                spot=spot,
                rate=spot.rate,
                start_time=start,
                end_time=end,
                hold_expires_at=now + timedelta(minutes=settings.RESERVATION_HOLD_MINUTES),
                client_address=client_address,
                announced=Reservation.Announced.START if start <= now else 0,
            )
            # Asked only once the spot took the booking (on PostgreSQL the insert is the
            # overlap check): answering it for a spot that is taken or not offered would tell
            # anyone whether an email has an account, with nothing booked. Rolls back the insert.
            if getattr(spot, "guest_email_has_account", False):
                raise DomainError(
                    "This email belongs to an account: sign in to reserve with it.", field="email"
                )
            if user is not None:  # a guest's socket cannot ask for it before it exists
                record_reservation_events(
                    reservations=[reservation], kind=ReservationEvent.Kind.CREATED, at=now
                )
            if start <= now:  # a booking ahead is announced when it starts (announce_by_clock)
                _announce(reservation, AvailabilityEvent.Kind.TAKEN, now=now)
            return reservation
    except IntegrityError as error:
        if _is_overlap(error):
            raise SpotUnavailable from None
        raise


def _check_unpaid_hold_limits(*, email: str, client_address: str | None, now: datetime) -> None:
    """Refuse a booking beyond the unpaid holds an email or an address may have: holding spots
    costs nothing until the hold lapses, so without a limit one client could hold every spot.
    Counted from the database, inside the booking's transaction; on PostgreSQL concurrent
    bookings by one client may overshoot by those in flight (docs/reservations.md).

    Reading the first ``per_email + per_address`` holds of either suffices: if one limit is
    reached, the rows that are not its own are fewer than the other limit, so its own fill the
    rest."""
    per_email = max(settings.RESERVATION_UNPAID_HOLDS_PER_EMAIL, 0)
    per_address = max(settings.RESERVATION_UNPAID_HOLDS_PER_ADDRESS, 0) if client_address else 0
    if not per_email and not per_address:
        return
    holds = unpaid_holds_of(
        email=email,
        client_address=client_address if per_address else None,
        now=now,
        first=per_email + per_address,
    )
    by_email = [expiry for holder_email, _, expiry in holds if holder_email == email]
    by_address = [expiry for _, address, expiry in holds if address and address == client_address]
    for expiries, limit, holder in (
        (by_email, per_email, "this email"),
        (by_address, per_address, "this address"),
    ):
        if 0 < limit <= len(expiries):
            raise TooManyUnpaidHolds(holder=holder, limit=limit, lapse=expiries[0] - now)


# Lock order. A transaction that writes reservations locks rows in this order only: the spot's
# (lock_spot), then the reservation's (lock_reservation takes both; a batch SKIP LOCKED), and
# never a spot after a reservation; last of all, as its last write, the availability sequence row
# (record_availability_events, docs/live.md). Each locks only the rows it names (of=self: a
# related row read with it stays unlocked), and FOR NO KEY UPDATE, which no key ever changes:
# rows referencing them (a booking's reservation, a charge, an email) are still inserted
# without waiting. So two writers never wait on each other crosswise; see docs/reservations.md
# ("Locks").


def lock_spot(spot_id: int, *, guest_email: str | None = None) -> ParkingSpot | None:
    """Bookings and extensions of one spot take turns on its row. Not for correctness (the
    exclusion constraint is that): two transactions inserting conflicting rows into an
    exclusion constraint wait on each other, and PostgreSQL breaks each such deadlock only
    after a second, so a burst on one spot would crawl. Queued on the row, each sees the
    previous one's result at once. FOR NO KEY UPDATE still lets reservations reference it.

    With ``guest_email``, the same query also answers ``guest_email_has_account``."""
    spots = ParkingSpot.objects.select_for_update(no_key=True).filter(pk=spot_id)
    if guest_email is not None:
        spots = spots.annotate(
            guest_email_has_account=Exists(accounts_with_email(email=guest_email))
        )
    return spots.first()


def lock_reservation(reservation_id: int) -> Reservation:
    """The reservation's row, locked for the caller's transaction after its spot's (the lock
    order), with its spot read. Raises Reservation.DoesNotExist.

    The spot's row first even for a write that does not move the reservation: a write that
    leaves it live (the card step, a confirmation) adds an index entry and so checks the
    exclusion constraint again, and that check waits on a booking of the spot inserting an
    overlapping period while the booking's own check waits on this row. PostgreSQL breaks
    such a deadlock after a second, failing one of the two. Queued on the spot's row, the
    booking and the write take turns instead."""
    spot_of_reservation = Reservation.objects.filter(pk=reservation_id).values("spot_id")
    list(
        ParkingSpot.objects.select_for_update(no_key=True)
        .filter(pk=Subquery(spot_of_reservation))
        .values_list("pk", flat=True)
    )
    return (
        Reservation.objects.select_for_update(no_key=True, of=("self",))
        .select_related("spot")
        .get(pk=reservation_id)
    )


def claim_lapsed_hold(*, reservation_id: int, now: datetime) -> Reservation | None:
    """The reservation, locked, if it still awaits payment with its hold lapsed and no other
    transaction holds it (that one is settling it: SKIP LOCKED); else None."""
    return (
        Reservation.objects.select_for_update(no_key=True, of=("self",), skip_locked=True)
        .filter(
            pk=reservation_id,
            status=Reservation.Status.PENDING_PAYMENT,
            hold_expires_at__lte=now,
        )
        .first()
    )


def _mark_ended(reservation: Reservation, *, now: datetime) -> None:
    """Ended at its ``end_time``: the spot is free and the fee for the time used is fixed. The
    charge follows, outside this transaction (payments, told by a signal)."""
    fee = fee_for_period(reservation.rate, reservation.start_time, reservation.end_time)
    reservation.status = Reservation.Status.ENDED
    reservation.finished_at = now
    reservation.amount_cents = fee.amount_cents
    reservation.fee_waived = fee.waived


def _finish_now(reservation: Reservation, *, now: datetime) -> Reservation:
    """End a live reservation at ``now``: an unpaid or not yet started one is cancelled (nothing
    to charge); a confirmed one ends with the fee for the time used."""
    if reservation.status == Reservation.Status.CONFIRMED and reservation.start_time < now:
        reservation.end_time = now
        _mark_ended(reservation, now=now)
        signals.reservation_ended.send(Reservation, reservation_id=reservation.pk)
    else:
        reservation.finished_at = now
        if reservation.status == Reservation.Status.PENDING_PAYMENT:
            # The card step was abandoned: payments closes its SetupIntent at Stripe.
            signals.unpaid_reservation_cancelled.send(Reservation, reservation_id=reservation.pk)
        reservation.status = Reservation.Status.CANCELLED
    reservation.hold_expires_at = None
    reservation.save()
    kind = (
        ReservationEvent.Kind.ENDED
        if reservation.status == Reservation.Status.ENDED
        else ReservationEvent.Kind.CANCELLED
    )
    record_reservation_events(reservations=[reservation], kind=kind, at=now)
    _announce_freed(reservation, now=now)
    return reservation


def _announce(reservation: Reservation, kind: AvailabilityEvent.Kind, *, now: datetime) -> None:
    """Tell the live map, in the change's transaction and as its last write (the sequence row
    comes last in the lock order): docs/live.md."""
    record_availability_events(spot_ids=[reservation.spot_id], kind=kind, at=now)


def _announce_freed(reservation: Reservation, *, now: datetime) -> None:
    """A reservation stopped holding its spot: freed on the map if it had started (one not yet
    started never took it)."""
    if reservation.start_time <= now:
        _announce(reservation, AvailabilityEvent.Kind.FREED, now=now)


@retry_on_transaction_conflict()
def change_end_time(
    *, reservation_id: int, end_time: datetime, now: datetime | None = None
) -> Reservation:
    """Extend, shorten or end (an end time not after now ends it now)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            reservation = lock_reservation(reservation_id)
            if not reservation.is_live or reservation.end_time <= now:
                raise ReservationEnded(field="end_time")
            if end_time < reservation.start_time:
                raise DomainError("Must not be before the start time.", field="end_time")
            if end_time <= now:
                return _finish_now(reservation, now=now)
            check_length(end_time - reservation.start_time, field="end_time")
            previous_end_time = reservation.end_time
            if (
                end_time > previous_end_time
                and live_reservations_overlapping(
                    spot_id=reservation.spot_id,
                    start=previous_end_time,
                    end=end_time,
                    excluding_id=reservation.pk,
                ).exists()
            ):
                raise SpotUnavailable
            reservation.end_time = end_time
            reservation.save(update_fields=["end_time", "updated_at"])
            _schedule_end(reservation, now=now)
            record_reservation_events(
                reservations=[reservation], kind=ReservationEvent.Kind.AMENDED, at=now
            )
            if reservation.status == Reservation.Status.CONFIRMED:
                queue_reservation_email(
                    reservation=reservation,
                    kind=EmailKind.AMENDMENT,
                    previous_end_time=previous_end_time,
                )
            return reservation
    except IntegrityError as error:
        if _is_overlap(error):
            raise SpotUnavailable from None
        raise


@retry_on_transaction_conflict()
def end_or_cancel(*, reservation_id: int, now: datetime | None = None) -> Reservation:
    """The contract's DELETE: cancel an unpaid reservation (freeing the spot at once) or end a
    confirmed one now, for the time used."""
    now = now or timezone.now()
    with transaction.atomic():
        reservation = lock_reservation(reservation_id)
        if not reservation.is_live or reservation.end_time <= now:
            raise ReservationEnded
        return _finish_now(reservation, now=now)


@retry_on_transaction_conflict()
def cancel_advance_booking(*, reservation_id: int, now: datetime | None = None) -> Reservation:
    """Cancel a live booking that has not started yet, free: nothing is charged (the engine
    ends and charges confirmed reservations only), the driver gets a "Reservation Cancelled"
    email, and an unpaid one's card step is closed. One that started is ended instead, for the
    time used (``change_end_time``, ``end_or_cancel``): ``ReservationStarted``.

    A booking that has not started holds nothing on the live map yet, so no availability
    event follows, unless the clock's sweep already announced its start (``announced``; the
    sweep's clock may run ahead of this one): then the spot is freed again."""
    now = now or timezone.now()
    with transaction.atomic():
        reservation = lock_reservation(reservation_id)
        if not reservation.is_live:
            raise ReservationNotLive(reservation)
        if reservation.start_time <= now:
            raise ReservationStarted
        if reservation.status == Reservation.Status.PENDING_PAYMENT:
            # The card step was abandoned: payments closes its SetupIntent at Stripe.
            signals.unpaid_reservation_cancelled.send(Reservation, reservation_id=reservation.pk)
        reservation.status = Reservation.Status.CANCELLED
        reservation.finished_at = now
        reservation.hold_expires_at = None
        reservation.save()
        queue_reservation_email(reservation=reservation, kind=EmailKind.CANCELLATION, now=now)
        record_reservation_events(
            reservations=[reservation], kind=ReservationEvent.Kind.CANCELLED, at=now
        )
        if reservation.announced >= Reservation.Announced.START:
            _announce(reservation, AvailabilityEvent.Kind.FREED, now=now)
        return reservation


def record_card_setup_started(
    *, reservation: Reservation, customer_id: str, setup_intent_id: str
) -> None:
    """The card step began: the reservation (locked by the caller, in its transaction) names
    the processor's customer and SetupIntent that will confirm it."""
    reservation.stripe_customer_id = customer_id
    reservation.stripe_setup_intent_id = setup_intent_id
    reservation.save(update_fields=["stripe_customer_id", "stripe_setup_intent_id", "updated_at"])


def confirm_reservation(
    *,
    reservation_id: int,
    customer_id: str,
    payment_method_id: str,
    card_brand: str,
    card_last4: str,
) -> Reservation:
    """The card is set up: the reservation is confirmed and the driver told, once."""
    with transaction.atomic():
        reservation = lock_reservation(reservation_id)
        if reservation.status == Reservation.Status.CONFIRMED:
            return reservation
        if reservation.status != Reservation.Status.PENDING_PAYMENT:
            raise ReservationNotPending(reservation)
        reservation.status = Reservation.Status.CONFIRMED
        reservation.confirmed_at = timezone.now()
        reservation.hold_expires_at = None
        reservation.stripe_customer_id = customer_id
        reservation.stripe_payment_method_id = payment_method_id
        reservation.card_brand = card_brand
        reservation.card_last4 = card_last4
        reservation.save()
        queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
        _schedule_end(reservation, now=reservation.confirmed_at)
        record_reservation_events(
            reservations=[reservation],
            kind=ReservationEvent.Kind.CONFIRMED,
            at=reservation.confirmed_at,
        )
        return reservation


def expire_unpaid_reservation(*, reservation_id: int, now: datetime | None = None) -> Reservation:
    """The hold lapsed unpaid: the spot is free again. Nothing happens to any other state."""
    with transaction.atomic():
        reservation = lock_reservation(reservation_id)
        if reservation.status == Reservation.Status.PENDING_PAYMENT:
            now = now or timezone.now()
            reservation.status = Reservation.Status.EXPIRED
            reservation.finished_at = now
            reservation.hold_expires_at = None
            reservation.save()
            record_reservation_events(
                reservations=[reservation], kind=ReservationEvent.Kind.CANCELLED, at=now
            )
            _announce_freed(reservation, now=now)
        return reservation


def _schedule_end(reservation: Reservation, *, now: datetime) -> None:
    """Queue a task at the end time, for precision, when it is near. The periodic sweep ends
    every reservation anyway (the database is the source of truth), so a task that is lost,
    or finds the end time moved, changes nothing. Far-off ends get no task: RabbitMQ cancels a
    consumer holding a message unacknowledged past its 30-minute timeout (docs/tasks.md)."""
    if reservation.status != Reservation.Status.CONFIRMED:
        return
    if reservation.end_time - now > timedelta(seconds=settings.END_TASK_HORIZON_SECONDS):
        return
    enqueue_after_commit(
        "reservations.tasks.end_reservation",
        reservation.pk,
        reservation.end_time.isoformat(),
        eta=reservation.end_time,
    )


@retry_on_transaction_conflict()
def end_reservation_if_due(*, reservation_id: int, now: datetime | None = None) -> bool:
    """End one confirmed reservation whose end time has passed; False if it is not due (its
    end moved later, it already ended, it was cancelled). Safe to run twice or late."""
    now = now or timezone.now()
    with transaction.atomic():
        reservation = lock_reservation(reservation_id)
        if reservation.status != Reservation.Status.CONFIRMED or reservation.end_time > now:
            return False
        _mark_ended(reservation, now=now)
        reservation.save()
        signals.reservation_ended.send(Reservation, reservation_id=reservation.pk)
        record_reservation_events(
            reservations=[reservation], kind=ReservationEvent.Kind.ENDED, at=now
        )
        _announce(reservation, AvailabilityEvent.Kind.FREED, now=now)
        return True


def end_due_reservations(*, now: datetime | None = None, batch_size: int = 500) -> list[int]:
    """End up to ``batch_size`` confirmed reservations whose end time has passed, oldest end
    first; returns their ids. Several workers may run this at once: each claims different rows
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the IMMEDIATE transaction is the claim,
    one writer at a time). The batch is announced with one ``reservations_ended`` signal, so
    that their charges are queued together after the commit."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Reservation.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(status=Reservation.Status.CONFIRMED, end_time__lte=now)
            .order_by("end_time")[:batch_size]
        )
        for reservation in due:
            _mark_ended(reservation, now=now)
            reservation.updated_at = now  # bulk_create leaves auto_now alone
        # The rows exist and are locked: an upsert writes them in one statement with one row of
        # values each, where bulk_update's CASE per field and row costs ten times the CPU.
        Reservation.objects.bulk_create(
            due,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["status", "finished_at", "amount_cents", "fee_waived", "updated_at"],
        )
        ended = [reservation.pk for reservation in due]
        if ended:
            signals.reservations_ended.send(Reservation, reservation_ids=ended)
        record_reservation_events(reservations=due, kind=ReservationEvent.Kind.ENDED, at=now)
        record_availability_events(
            spot_ids=[reservation.spot_id for reservation in due],
            kind=AvailabilityEvent.Kind.FREED,
            at=now,
        )
    return ended


def announce_by_clock(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Tell the live map what the clock changed with no write: bookings made ahead whose
    start arrived take their spots; unpaid holds that outlived their end (the hold lapses
    later) free them. Confirmed reservations are freed by ``end_due_reservations``. Each is
    announced once (``Reservation.announced``, written with the events): safe to run twice,
    late, or on two workers (SKIP LOCKED). Returns how many reservations it announced."""
    now = now or timezone.now()
    live = Reservation.objects.select_for_update(no_key=True, skip_locked=True)
    with transaction.atomic():
        started = list(
            live.filter(
                status__in=Reservation.LIVE_STATUSES,
                announced=Reservation.Announced.NOTHING,
                start_time__lte=now,
            ).values_list("pk", "spot_id", "end_time")[:batch_size]
        )
        outlived = list(
            live.filter(
                status=Reservation.Status.PENDING_PAYMENT,
                announced__lt=Reservation.Announced.END,
                end_time__lte=now,
            ).values_list("pk", "spot_id")[:batch_size]
        )
        Reservation.objects.filter(pk__in=[pk for pk, *_ in started]).update(
            announced=Reservation.Announced.START
        )
        Reservation.objects.filter(pk__in=[pk for pk, _ in outlived]).update(
            announced=Reservation.Announced.END
        )
        # Freed first: a spot whose outlived hold and whose next booking are both announced
        # here ends the batch taken. A freed spot still held by another is not freed at all.
        record_availability_events(
            spot_ids=[spot_id for _, spot_id in outlived],
            kind=AvailabilityEvent.Kind.FREED,
            at=now,
        )
        record_availability_events(
            spot_ids=[spot_id for _, spot_id, end_time in started if end_time > now],
            kind=AvailabilityEvent.Kind.TAKEN,
            at=now,
        )
    return len({pk for pk, *_ in started} | {pk for pk, _ in outlived})


def record_payment_outcomes(
    *, paid: list[Reservation], unpaid: list[Reservation], now: datetime
) -> None:
    """Ended reservations' fees were settled (``paid``: charged or waived) or are awaiting the
    driver (``unpaid``: ``payment_failed``). Called by payments inside its own transaction; it
    only moves between those two states, never revives or ends a reservation. Every row is
    written before the drivers' events take their sequence row (the lock order)."""
    outcomes = (
        (paid, Reservation.Status.ENDED, ReservationEvent.Kind.CHARGED),
        (unpaid, Reservation.Status.PAYMENT_FAILED, ReservationEvent.Kind.PAYMENT_FAILED),
    )
    for reservations, status, _ in outcomes:
        if not reservations:
            continue
        # Most are ended already and stay so: rewriting those rows would only cost PostgreSQL.
        Reservation.objects.filter(
            pk__in=[reservation.pk for reservation in reservations],
            status__in=[other for other in Reservation.SETTLING_STATUSES if other != status],
        ).update(status=status, updated_at=now)
        for reservation in reservations:
            reservation.status = status
    for reservations, _, kind in outcomes:
        record_reservation_events(reservations=reservations, kind=kind, at=now)


def send_due_reminders(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Queue the "ends soon" email for confirmed reservations ending within
    ``REMINDER_MINUTES_BEFORE_END``, once per end time (an extension earns a new one).
    Reservations no longer than the lead time get none: they would be reminded at booking."""
    now = now or timezone.now()
    lead = timedelta(minutes=settings.REMINDER_MINUTES_BEFORE_END)
    with transaction.atomic():
        due = list(
            Reservation.objects.select_for_update(no_key=True, of=("self",), skip_locked=True)
            .select_related("spot")
            .filter(
                status=Reservation.Status.CONFIRMED,
                end_time__gt=now,
                end_time__lte=now + lead,
                start_time__lt=F("end_time") - lead,
            )
            .exclude(reminded_for_end_time=F("end_time"))[:batch_size]
        )
        for reservation in due:
            queue_reservation_email(reservation=reservation, kind=EmailKind.REMINDER, now=now)
            reservation.reminded_for_end_time = reservation.end_time
        Reservation.objects.bulk_update(due, ["reminded_for_end_time"])
        record_reservation_events(
            reservations=due, kind=ReservationEvent.Kind.REMINDER_SENT, at=now
        )
    return len(due)


def record_reservation_events(
    *, reservations: Sequence[Reservation], kind: ReservationEvent.Kind | str, at: datetime
) -> None:
    """Write one event of ``kind`` per reservation for its owner's stream (docs/live.md),
    numbered next in commit order.

    Call it inside the transaction of the change, after the reservations are written and
    before any availability event: the sequence row stays locked from here until the commit,
    so these transactions commit in the order of their numbers (lock order: spots,
    reservations, this sequence row, the availability sequence row)."""
    if not reservations:
        return
    require_transaction("record_reservation_events")
    kind = ReservationEvent.Kind(kind)
    count = len(reservations)
    last = take_sequence_numbers(
        sequence_table=ReservationEventSequence._meta.db_table,
        event_table=ReservationEvent._meta.db_table,
        row_id=ReservationEventSequence.ONLY_ROW,
        count=count,
    )
    ReservationEvent.objects.bulk_create(
        ReservationEvent(
            seq=last - count + position,
            reservation_id=reservation.pk,
            user_id=reservation.user_id,
            kind=kind.value,
            created_at=at,
        )
        for position, reservation in enumerate(reservations, start=1)
    )


def prune_reservation_events(*, now: datetime | None = None) -> int:
    """Delete the reservation events older than ``RESERVATION_EVENTS_KEEP_HOURS``: a prefix of
    the sequence (numbers follow time). A client resuming from before gets the current state
    without them. Safe to run twice."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.RESERVATION_EVENTS_KEEP_HOURS)
    first_recent = (
        ReservationEvent.objects.filter(created_at__gte=cutoff)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    old = ReservationEvent.objects.all()
    if first_recent is not None:
        old = old.filter(seq__lt=first_recent)
    deleted, _ = old.delete()
    return deleted
