"""Charging the fee when a reservation ends.

The charge's record is written first, and a lease on it, not a row lock, keeps a second worker
from calling Stripe meanwhile. The engine charges reservations in batches, a transaction to
claim a batch and one to record its answers. See docs/payments.md ("Charging at the end") and
docs/tasks.md.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import EmailKind
from notifications.services import PaymentSummary, ReservationEmail, queue_reservation_emails
from payments import links
from payments.gateways import (
    PROCESSING,
    REQUIRES_PAYMENT_METHOD,
    SUCCEEDED,
    CardDetails,
    PaymentGateway,
    PaymentIntentInfo,
    SavedCardUnavailable,
    get_gateway,
)
from payments.models import Charge
from payments.selectors import SAVED_CARD_UNAVAILABLE, failure_reason
from reservations.models import Reservation, ReservationEvent
from reservations.pricing import fee_for_period
from reservations.services import record_payment_outcomes, record_reservation_events
from securemyspot import leases
from securemyspot.errors import ServiceUnavailable
from securemyspot.tasks import enqueue_after_commit

logger = logging.getLogger(__name__)

# One worker talks to Stripe about a charge at a time, for at most this long: far longer than a
# Stripe call can last (three tries of at most 5 s + 20 s each), so a live worker never loses
# its lease, while a dead one's lapses and the sweep takes over.
CHARGE_LEASE = timedelta(minutes=5)
# A batch takes no new charge to Stripe after this long and queues the rest as a task of its own,
# so that a slow Stripe does not hold a worker's process, and its last call (at most 75 s) ends,
# and its answer is recorded, well inside the lease of every charge it claimed.
CHARGE_BATCH_SECONDS = 2
# A slow Stripe's answers are recorded (and their receipts queued) at least this often.
CHARGE_RECORD_SECONDS = 1
# The task queued at the end normally charges within seconds; the sweep waits this long before
# stepping in, so that the two rarely meet.
CHARGE_SWEEP_GRACE = timedelta(minutes=2)
# Failed sends wait 1, 2, 4, ... minutes for the sweep, at most an hour. After this many tries
# operators are told, and the sweep goes on trying hourly.
CHARGE_RETRY_BACKOFF_START = timedelta(minutes=1)
CHARGE_RETRY_BACKOFF_MAX = timedelta(hours=1)
CHARGE_TRIES_BEFORE_ATTENTION = 10
# Ended reservations that never got a charge (their task was lost) are charged by the sweep if
# they ended this recently: a charge weeks late would surprise a driver more than it helps, so
# older ones are left to operators.
UNCHARGED_LOOKBACK = timedelta(days=7)
# Our clock and Stripe's may disagree a little when looking for a charge sent before.
CLOCK_SKEW = timedelta(minutes=5)


def charge_idempotency_key(charge_id: int, attempt: int) -> str:
    return f"charge-{charge_id}-attempt-{attempt}"


def charge_metadata(charge: Charge, attempt: int) -> dict[str, str]:
    # charge_id and attempt find a payment again (find_payment_intent, webhooks);
    # reservation_id is for people reading Stripe's dashboard.
    return {
        "charge_id": str(charge.pk),
        "attempt": str(attempt),
        "reservation_id": str(charge.pk),
    }


def _locked_charges(charge_ids: Sequence[int]) -> dict[int, Charge]:
    # of=self: lock the charges alone, not the reservations and spots read with them; by id, so
    # that two workers recording overlapping batches take the locks in the same order.
    charges = (
        Charge.objects.select_for_update(of=("self",))
        .select_related("reservation__spot")
        .filter(pk__in=charge_ids)
        .order_by("pk")
    )
    return {charge.pk: charge for charge in charges}


def _fee_cents(reservation: Reservation) -> int:
    if reservation.amount_cents is not None:
        return reservation.amount_cents
    # The engine fixes the fee when it ends a reservation; one ended some other way (an
    # operator, an older release) is priced here the same way.
    return fee_for_period(
        reservation.rate, reservation.start_time, reservation.end_time
    ).amount_cents


def _new_charge(reservation: Reservation, *, now: datetime) -> Charge:
    amount = _fee_cents(reservation)
    waived = reservation.fee_waived or amount < settings.MINIMUM_CHARGE_CENTS
    return Charge(
        reservation=reservation,
        amount_cents=amount,
        currency=reservation.currency,
        status=Charge.Status.WAIVED if waived else Charge.Status.PENDING,
        created_at=now,
        updated_at=now,
        next_attempt_at=None if waived else now + CHARGE_SWEEP_GRACE,
    )


def _create_missing_charges(reservations: Sequence[Reservation], *, now: datetime) -> None:
    """Each reservation's charge, created if it has none: waived at once, with the receipt
    queued in the same transaction, when the fee is under the minimum; else pending."""
    existing = set(
        Charge.objects.filter(pk__in=[r.pk for r in reservations]).values_list("pk", flat=True)
    )
    new = [_new_charge(r, now=now) for r in reservations if r.pk not in existing]
    # A concurrent run may create some of them first (a charge's id is its reservation's):
    # its rows stay, and the receipts' dedup keys keep them from being queued twice.
    Charge.objects.bulk_create(new, ignore_conflicts=True)
    waived = [charge.reservation for charge in new if charge.status == Charge.Status.WAIVED]
    # Settled at once: the driver's stream hears it as for a paid fee (its charge says waived).
    record_reservation_events(reservations=waived, kind=ReservationEvent.Kind.CHARGED, at=now)
    receipts = [
        ReservationEmail(
            charge.reservation,
            EmailKind.ENDED,
            PaymentSummary(amount_cents=charge.amount_cents, currency=charge.currency, waived=True),
        )
        for charge in new
        if charge.status == Charge.Status.WAIVED
    ]
    queue_reservation_emails(emails=receipts, now=now)


def _create_and_claim(reservation_ids: Sequence[int], *, now: datetime) -> list[Charge]:
    """Create the charges of the ended reservations among ``reservation_ids`` and claim the
    open ones nobody holds, in one short transaction committed before Stripe is called. The
    claim (``claimed_until``) is the lease: no row lock is held while Stripe answers (on SQLite
    an open write transaction blocks every other writer). Rows another worker is claiming at
    this moment are skipped, not waited for. Returns the claimed charges as they were before
    the claim (``last_sent_at`` says whether an earlier claim may have sent them), each with
    its reservation."""
    with transaction.atomic():
        reservations = {
            reservation.pk: reservation
            for reservation in Reservation.objects.select_related("spot")
            .filter(pk__in=reservation_ids, status__in=Reservation.SETTLING_STATUSES)
            .order_by("pk")
        }
        _create_missing_charges(list(reservations.values()), now=now)
        # last_sent_at is set with the claim: from here on the charge may have reached Stripe.
        claimed = leases.claim(
            Charge.objects.filter(pk__in=reservations, status__in=Charge.OPEN_STATUSES),
            now=now,
            lease=CHARGE_LEASE,
            counter="tries",
            last_sent_at=now,
            updated_at=timezone.now(),
        )
    for charge in claimed:
        charge.reservation = reservations[charge.pk]
    return claimed


def claimable_charge(
    charge_id: int, *, statuses: tuple[str, ...], now: datetime
) -> QuerySet[Charge]:
    """The charge, if it is in one of ``statuses`` and nobody holds its lease, to claim with
    one conditional UPDATE committed at once."""
    return Charge.objects.filter(pk=charge_id, status__in=statuses).filter(leases.lease_free(now))


def release_charge(charge_id: int) -> None:
    Charge.objects.filter(pk=charge_id).update(claimed_until=None)


def charge_for_reservation(*, reservation_id: int, now: datetime | None = None) -> Charge | None:
    """Charge an ended reservation's fee (``charge_for_reservations`` of one). Returns the
    charge, or None when the reservation has not ended."""
    charges = charge_for_reservations(reservation_ids=[reservation_id], now=now)
    return charges[0] if charges else None


def charge_for_reservations(
    *, reservation_ids: Sequence[int], now: datetime | None = None
) -> list[Charge]:
    """Charge ended reservations' fees to their saved cards, off-session, each at most once,
    and queue the emails saying what was charged or why not. Returns their charges as they
    stand afterwards; a reservation that has not ended has none.

    Safe to run twice, late, or in several workers at once: each charge is one record, and
    only the worker holding its lease calls Stripe. One transaction creates and claims the
    batch's charges, Stripe is called for each outside any transaction, and one transaction
    records the answers and queues the emails. Stripe out of reach: the charges not answered
    are left to retry (``retry_due_charges``), the answers so far recorded, and
    PaymentGatewayUnavailable is raised, so that a task may retry sooner. Any other error is
    logged, its charge left to retry, the rest of the batch charged, and the first raised.
    """
    now = now or timezone.now()
    claimed = _create_and_claim(reservation_ids, now=now)
    if claimed:
        _send_charges(claimed, now=now)
    return list(Charge.objects.filter(pk__in=reservation_ids).order_by("pk"))


# What the gateway made of an off-session charge: the PaymentIntent, the saved card gone at
# Stripe, or None when the reservation names no saved card.
ChargeAnswer = PaymentIntentInfo | SavedCardUnavailable | None


def _send_charges(claimed: Sequence[Charge], *, now: datetime) -> None:
    """Send the claimed charges to Stripe one by one, recording the answers together (every
    CHARGE_RECORD_SECONDS when Stripe is slow). After CHARGE_BATCH_SECONDS the batch stops,
    releases what it has not sent and queues it as a task of its own, behind whatever was
    queued meanwhile: a slow Stripe never keeps a worker's process from the rest for long, and
    every lease the batch holds is still valid when its answer is recorded."""
    gateway = get_gateway()
    answers: list[tuple[int, ChargeAnswer]] = []
    unsent = list(claimed)
    failure: Exception | None = None
    recorded = time.monotonic()
    try:
        for charge in leases.time_boxed(unsent, seconds=CHARGE_BATCH_SECONDS):
            try:
                answers.append((charge.pk, _send_charge(gateway, charge, now=now)))
            except ServiceUnavailable as unreachable:
                _defer_charge(charge.pk, error=unreachable.message, now=now)
                raise
            except Exception as exc:
                logger.exception("Charging reservation %s failed; it is retried later", charge.pk)
                _defer_charge(charge.pk, error=f"{type(exc).__name__}: {exc}", now=now)
                failure = failure or exc
            if time.monotonic() - recorded >= CHARGE_RECORD_SECONDS:
                record_charge_results(answers, now=now)
                answers, recorded = [], time.monotonic()
    finally:
        record_charge_results(answers, now=now)
        _release_unsent(unsent)
    if unsent:
        enqueue_after_commit(
            "payments.tasks.charge_reservations", sorted(charge.pk for charge in unsent)
        )
    if failure is not None:
        raise failure


def _release_unsent(charges: Sequence[Charge]) -> None:
    """Claimed, never sent: as they were before the claim, free for the next run at once."""
    never_sent = [charge.pk for charge in charges if charge.last_sent_at is None]
    leases.release(Charge.objects.filter(pk__in=never_sent), counter="tries", last_sent_at=None)
    # Sent by an earlier claim, answer unrecorded: the next run still looks at Stripe first.
    sent_before = [charge.pk for charge in charges if charge.last_sent_at is not None]
    leases.release(Charge.objects.filter(pk__in=sent_before), counter="tries")


def _send_charge(gateway: PaymentGateway, charge: Charge, *, now: datetime) -> ChargeAnswer:
    reservation = charge.reservation
    if not (reservation.stripe_customer_id and reservation.stripe_payment_method_id):
        return None
    if charge.last_sent_at is not None:
        # Sent before, and the answer never recorded (the worker died, or the reply was lost on
        # the way): Stripe may have charged. Stripe would replay the idempotency key, but
        # localstripe does not, and neither does Stripe after 24 hours.
        sent = gateway.find_payment_intent(
            customer_id=reservation.stripe_customer_id,
            charge_id=charge.pk,
            attempt=charge.attempt,
            created_after=charge.created_at - CLOCK_SKEW,
        )
        if sent is not None:
            logger.info("Charge %s was sent before as %s; recording it", charge.pk, sent.id)
            return sent
    try:
        return gateway.charge_off_session(
            customer_id=reservation.stripe_customer_id,
            payment_method_id=reservation.stripe_payment_method_id,
            amount_cents=charge.amount_cents,
            currency=charge.currency,
            idempotency_key=charge_idempotency_key(charge.pk, charge.attempt),
            metadata=charge_metadata(charge, charge.attempt),
        )
    except SavedCardUnavailable as gone:
        return gone


@dataclass
class _Settled:
    """Charges settled in one transaction, and the emails saying so."""

    charges: list[Charge] = field(default_factory=list)
    emails: list[ReservationEmail] = field(default_factory=list)


def record_charge_results(answers: Sequence[tuple[int, ChargeAnswer]], *, now: datetime) -> None:
    """Record what Stripe made of off-session charges, in one transaction: a charge settled
    meanwhile (a webhook, another worker) is left as it is."""
    if not answers:
        return
    processing: list[tuple[int, str]] = []
    with transaction.atomic():
        charges = _locked_charges([charge_id for charge_id, _ in answers])
        settled = _Settled()
        for charge_id, answer in answers:
            charge = charges[charge_id]
            if isinstance(answer, PaymentIntentInfo) and answer.status == SUCCEEDED:
                _settle_paid(settled, charge, answer, card=None, now=now)
            elif isinstance(answer, PaymentIntentInfo) and answer.status == PROCESSING:
                processing.append((charge_id, answer.id))
            else:
                _settle_unpaid(settled, charge, answer, now=now)
        _write_settled(settled, now=now)
    for charge_id, intent_id in processing:
        # Not for cards in practice; Stripe's webhook or the next look settles it.
        _defer_charge(charge_id, error=f"{intent_id} is processing at Stripe", now=now)


def _settle_unpaid(
    settled: _Settled, charge: Charge, answer: ChargeAnswer, *, now: datetime
) -> None:
    if isinstance(answer, PaymentIntentInfo):
        authenticate = answer.needs_authentication
        unexpected = answer.status != REQUIRES_PAYMENT_METHOD and not authenticate
        _settle_failed(
            settled,
            charge,
            status=Charge.Status.REQUIRES_ACTION if authenticate else Charge.Status.FAILED,
            intent=answer,
            failure_code=answer.failure_code or "",
            failure_message=answer.failure_message or "",
            attention=f"Unexpected PaymentIntent status {answer.status}" if unexpected else "",
            now=now,
        )
        return
    if answer is None:
        message = "The reservation names no saved customer or card."
        attention = "No saved card to charge: the reservation has no Stripe customer or card."
    else:
        message = f"{answer.code or 'refused'}: {answer.message}"
        attention = f"The saved customer or card is gone at Stripe: {answer.message}"
    _settle_failed(
        settled,
        charge,
        status=Charge.Status.FAILED,
        intent=None,
        failure_code=SAVED_CARD_UNAVAILABLE,
        failure_message=message,
        attention=attention,
        now=now,
    )


def record_paid(
    charge_id: int, intent: PaymentIntentInfo, *, card: CardDetails | None, now: datetime
) -> Charge:
    """The charge is paid by ``intent`` (with ``card``, the saved card if None): the
    reservation is ended and paid, and its receipt queued, in one transaction, once."""
    with transaction.atomic():
        charge = _locked_charges([charge_id])[charge_id]
        settled = _Settled()
        _settle_paid(settled, charge, intent, card=card, now=now)
        _write_settled(settled, now=now)
        return charge


def _settle_paid(
    settled: _Settled,
    charge: Charge,
    intent: PaymentIntentInfo,
    *,
    card: CardDetails | None,
    now: datetime,
) -> None:
    """Mark the locked ``charge`` paid by ``intent`` and its receipt due, unless it is paid
    already."""
    if charge.status == Charge.Status.SUCCEEDED:
        if charge.stripe_payment_intent_id != intent.id:
            # Old attempts are cancelled before new ones are made, so this should not be.
            logger.error(
                "Charge %s paid twice: %s and %s",
                charge.pk,
                charge.stripe_payment_intent_id,
                intent.id,
            )
            charge.needs_attention = True
            charge.attention_reason = (
                f"Paid twice: {charge.stripe_payment_intent_id} and {intent.id} both "
                "succeeded. Refund one."
            )
            settled.charges.append(charge)
        return
    reservation = charge.reservation
    charge.status = Charge.Status.SUCCEEDED
    charge.stripe_payment_intent_id = intent.id
    charge.succeeded_at = now
    charge.claimed_until = charge.next_attempt_at = None
    charge.card_brand = card.brand if card else reservation.card_brand
    charge.card_last4 = card.last4 if card else reservation.card_last4
    settled.charges.append(charge)
    settled.emails.append(
        ReservationEmail(
            reservation,
            EmailKind.ENDED,
            PaymentSummary(
                amount_cents=charge.amount_cents,
                currency=charge.currency,
                card_brand=charge.card_brand,
                card_last4=charge.card_last4,
            ),
        )
    )


def _settle_failed(
    settled: _Settled,
    charge: Charge,
    *,
    status: str,
    intent: PaymentIntentInfo | None,
    failure_code: str,
    failure_message: str,
    attention: str,
    now: datetime,
) -> None:
    """The saved card could not be charged: the locked ``charge`` awaits the driver's payment,
    and the email with the link to pay is due. A charge settled meanwhile is left as it is."""
    if not charge.is_open:
        return
    reservation = charge.reservation
    charge.status = status
    charge.stripe_payment_intent_id = intent.id if intent else ""
    charge.failure_code = failure_code[:64]
    charge.failure_message = failure_message
    charge.claimed_until = charge.next_attempt_at = None
    if attention:
        charge.needs_attention = True
        charge.attention_reason = attention
    settled.charges.append(charge)
    settled.emails.append(
        ReservationEmail(
            reservation,
            EmailKind.PAYMENT_FAILED,
            PaymentSummary(
                amount_cents=charge.amount_cents,
                currency=charge.currency,
                failure_reason=failure_reason(charge),
                pay_url=links.pay_url(reservation.pk),
            ),
        )
    )


SETTLED_FIELDS = (
    "status",
    "stripe_payment_intent_id",
    "succeeded_at",
    "claimed_until",
    "next_attempt_at",
    "card_brand",
    "card_last4",
    "failure_code",
    "failure_message",
    "needs_attention",
    "attention_reason",
    "updated_at",
)


def _write_settled(settled: _Settled, *, now: datetime) -> None:
    """Write the settled charges, move their reservations between ``ended`` and
    ``payment_failed`` to match, and queue the emails, in the caller's transaction."""
    if not settled.charges:
        return
    recorded_at = timezone.now()
    for charge in settled.charges:
        charge.updated_at = recorded_at  # bulk_create leaves auto_now alone
    # The rows exist and are locked: an upsert writes them in one statement with one row of
    # values each, where bulk_update's CASE per field and row costs 25 times the CPU.
    Charge.objects.bulk_create(
        settled.charges, update_conflicts=True, unique_fields=["pk"], update_fields=SETTLED_FIELDS
    )
    paid: list[Reservation] = []
    unpaid: list[Reservation] = []
    for charge in settled.charges:
        (paid if charge.status == Charge.Status.SUCCEEDED else unpaid).append(charge.reservation)
    record_payment_outcomes(paid=paid, unpaid=unpaid, now=now)
    queue_reservation_emails(emails=settled.emails, now=now)


def _defer_charge(charge_id: int, *, error: str, now: datetime) -> Charge:
    """Stripe gave no answer worth recording: try again later, and tell operators when that
    has gone on for long."""
    charge = Charge.objects.get(pk=charge_id)
    if not charge.is_open:
        return charge
    retry = {
        "status": Charge.Status.RETRYING,
        "claimed_until": None,
        "failure_message": error[:2000],
        "next_attempt_at": now
        + leases.backoff(
            charge.tries, start=CHARGE_RETRY_BACKOFF_START, maximum=CHARGE_RETRY_BACKOFF_MAX
        ),
        "updated_at": timezone.now(),
    }
    if charge.tries >= CHARGE_TRIES_BEFORE_ATTENTION:
        retry |= {
            "needs_attention": True,
            "attention_reason": f"Not charged after {charge.tries} tries: {error}",
        }
    Charge.objects.filter(pk=charge_id, status__in=Charge.OPEN_STATUSES).update(**retry)
    charge.refresh_from_db()
    return charge


def retry_due_charges(*, now: datetime | None = None, batch: int = 100) -> int:
    """The sweep: charge what is due and was not charged, because Stripe was out of reach, a
    worker died holding the lease, or the task queued at the end was lost. Stops at the first
    charge Stripe cannot take (the rest would wait on its timeouts too). Returns how many
    charges it settled (paid, waived or failed)."""
    now = now or timezone.now()
    due = (
        Charge.objects.filter(status__in=Charge.OPEN_STATUSES, next_attempt_at__lte=now)
        .filter(leases.lease_free(now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    uncharged = (
        Reservation.objects.filter(
            status=Reservation.Status.ENDED,
            charge__isnull=True,
            finished_at__lte=now - CHARGE_SWEEP_GRACE,
            finished_at__gt=now - UNCHARGED_LOOKBACK,
        )
        .order_by("finished_at")
        .values_list("pk", flat=True)[:batch]
    )
    reservation_ids = [*due, *uncharged]
    try:
        charge_for_reservations(reservation_ids=reservation_ids, now=now)
    except ServiceUnavailable:
        logger.warning("Stripe unreachable: due charges wait for the next sweep")
    except Exception:
        logger.exception("Charging some due charges failed; they are retried later")
    return (
        Charge.objects.filter(pk__in=reservation_ids)
        .exclude(status__in=Charge.OPEN_STATUSES)
        .count()
    )


def clear_charge_attention(*, charge_ids: list[int]) -> int:
    """An operator has dealt with these charges; the reason stays on record."""
    return Charge.objects.filter(pk__in=charge_ids, needs_attention=True).update(
        needs_attention=False, updated_at=timezone.now()
    )
