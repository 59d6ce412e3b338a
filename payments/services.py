"""Paying for a reservation: saving the driver's card with a SetupIntent, confirming the
reservation once the card is saved (from the client, Stripe's webhook or the hold sweep),
settling reservations whose hold lapsed, and charging the fee when a reservation ends.

For the card step, Stripe is called inside the transaction that records what it returned, so
when Stripe cannot be reached nothing is written: no row ever names a Stripe object that was
not created. Every write to Stripe carries an idempotency key derived from the reservation (or
email) and its purpose, so a repeated request finds the object the first one made.

The charge at the end works the other way round: its record is written first, and a lease on
it, not a row lock, keeps a second worker from calling Stripe meanwhile. The engine charges
reservations in batches, a transaction to claim a batch and one to record its answers. See
docs/payments.md and docs/tasks.md.
"""

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import normalize_email
from notifications.models import EmailKind
from notifications.services import PaymentSummary, ReservationEmail, queue_reservation_emails
from payments import links
from payments.gateways import (
    CANCELED,
    PAYMENT_INTENT_PAYMENT_FAILED,
    PAYMENT_INTENT_SUCCEEDED,
    PROCESSING,
    REQUIRES_ACTION,
    REQUIRES_CONFIRMATION,
    REQUIRES_PAYMENT_METHOD,
    SETUP_INTENT_SUCCEEDED,
    SUCCEEDED,
    CardDetails,
    PaymentGateway,
    PaymentIntentInfo,
    PaymentIntentNotFound,
    SandboxGateway,
    SavedCardUnavailable,
    SetupIntentInfo,
    SetupIntentNotFound,
    UnexpectedPaymentIntentState,
    UnexpectedSetupIntentState,
    get_gateway,
)
from payments.models import Charge, SetupAttempt, StripeCustomer, WebhookEvent
from payments.selectors import SAVED_CARD_UNAVAILABLE, failure_reason
from reservations.errors import ReservationNotPending
from reservations.models import Reservation
from reservations.pricing import fee_for_period
from reservations.services import (
    confirm_reservation,
    expire_unpaid_reservation,
    record_payment_outcomes,
)
from securemyspot.errors import Conflict, ServiceUnavailable
from securemyspot.tasks import enqueue_after_commit

logger = logging.getLogger(__name__)


class CardSetupNotStarted(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "No card setup has been started for this reservation.", setup_intent_status=None
        )


class CardSetupIncomplete(Conflict):
    def __init__(self, intent: SetupIntentInfo) -> None:
        reason = f" ({intent.last_error})" if intent.last_error else ""
        super().__init__(
            f"The card has not been set up: the SetupIntent is {intent.status}{reason}.",
            setup_intent_status=intent.status,
        )


class CardSetupMismatch(Conflict):
    def __init__(self, intent: SetupIntentInfo) -> None:
        super().__init__(
            "The SetupIntent on record belongs to another reservation.",
            setup_intent_status=intent.status,
        )


class SandboxDisabled(Exception):
    """Stripe keys are set, so the sandbox's card step is not served."""


def _require_pending(reservation: Reservation) -> None:
    if reservation.status != Reservation.Status.PENDING_PAYMENT:
        raise ReservationNotPending(reservation)


def _customer_idempotency_key(email: str) -> str:
    # Hashed: an email may be longer than a key may be.
    return f"customer-{hashlib.sha256(email.encode()).hexdigest()[:40]}"


def _setup_intent_idempotency_key(reservation_id: int, attempt: int) -> str:
    return f"reservation-{reservation_id}-setup-intent-{attempt}"


def _cancel_idempotency_key(reservation_id: int) -> str:
    return f"reservation-{reservation_id}-cancel-setup-intent"


def customer_for_email(*, gateway: PaymentGateway, email: str) -> str:
    """The processor's customer id for the email, created on first use and remembered."""
    email = normalize_email(email)
    known = StripeCustomer.objects.filter(email=email).values_list("customer_id", flat=True)
    if known:
        return known[0]
    customer_id = gateway.create_customer(
        email=email, idempotency_key=_customer_idempotency_key(email)
    )
    try:
        with transaction.atomic():
            StripeCustomer.objects.create(email=email, customer_id=customer_id)
    except IntegrityError:
        # A concurrent request for the same email recorded its customer first; with the same
        # idempotency key Stripe gave both requests the same one.
        return StripeCustomer.objects.get(email=email).customer_id
    return customer_id


def _current_setup_intent(
    gateway: PaymentGateway, reservation: Reservation
) -> SetupIntentInfo | None:
    if not reservation.stripe_setup_intent_id:
        return None
    try:
        return gateway.retrieve_setup_intent(reservation.stripe_setup_intent_id)
    except SetupIntentNotFound:
        return None


def start_card_setup(*, reservation_id: int) -> str:
    """The client secret of the reservation's SetupIntent, for the browser to save a card with.

    The reservation keeps its SetupIntent until that is cancelled (localstripe cancels one
    on a declined card; Stripe keeps it awaiting another card); only then is a new one made.
    """
    gateway = get_gateway()
    reservation = Reservation.objects.get(pk=reservation_id)
    _require_pending(reservation)
    # Committed on its own: once Stripe has made the customer it is worth remembering, even if
    # the SetupIntent below cannot be made now.
    customer_id = customer_for_email(gateway=gateway, email=reservation.email)
    # The row lock makes concurrent calls for one reservation wait for each other, so the
    # second finds and reuses the SetupIntent the first made.
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().get(pk=reservation_id)
        _require_pending(reservation)
        current = _current_setup_intent(gateway, reservation)
        if current is not None and current.status != CANCELED:
            return current.client_secret
        attempt = reservation.setup_attempts.count() + 1
        intent = gateway.create_setup_intent(
            customer_id=customer_id,
            reservation_id=reservation.pk,
            idempotency_key=_setup_intent_idempotency_key(reservation.pk, attempt),
        )
        SetupAttempt.objects.create(
            reservation=reservation, number=attempt, setup_intent_id=intent.id
        )
        reservation.stripe_customer_id = customer_id
        reservation.stripe_setup_intent_id = intent.id
        reservation.save(
            update_fields=["stripe_customer_id", "stripe_setup_intent_id", "updated_at"]
        )
    return intent.client_secret


def _confirm_with(
    gateway: PaymentGateway, reservation: Reservation, intent: SetupIntentInfo
) -> Reservation:
    if intent.reservation_id != reservation.pk:
        raise CardSetupMismatch(intent)
    if intent.status != SUCCEEDED or not intent.payment_method:
        raise CardSetupIncomplete(intent)
    card = gateway.retrieve_card(intent.payment_method)
    return confirm_reservation(
        reservation_id=reservation.pk,
        customer_id=intent.customer or reservation.stripe_customer_id,
        payment_method_id=card.payment_method_id,
        card_brand=card.brand,
        card_last4=card.last4,
    )


def confirm_card_setup(*, reservation_id: int) -> Reservation:
    """Confirm the reservation if Stripe says its SetupIntent succeeded (asked afresh, never
    taken from the caller); the confirmation email goes after commit. Confirming again changes
    nothing."""
    reservation = Reservation.objects.get(pk=reservation_id)
    if reservation.status == Reservation.Status.CONFIRMED:
        return reservation
    _require_pending(reservation)
    gateway = get_gateway()
    intent = _current_setup_intent(gateway, reservation)
    if intent is None:
        raise CardSetupNotStarted()
    return _confirm_with(gateway, reservation, intent)


def _setup_intent_succeeded(intent: SetupIntentInfo) -> None:
    """Stripe reports a card saved: confirm its reservation, whether or not the client ever
    calls the confirm route."""
    reservation = Reservation.objects.filter(pk=intent.reservation_id).first()
    if reservation is None or reservation.stripe_setup_intent_id != intent.id:
        logger.info("SetupIntent %s succeeded but is no reservation's current one", intent.id)
        return
    try:
        confirm_card_setup(reservation_id=reservation.pk)
    except Conflict as refused:
        # Nothing a redelivery could change (e.g. the hold lapsed before the card was saved).
        logger.warning(
            "SetupIntent %s succeeded; reservation %s not confirmed: %s",
            intent.id,
            reservation.pk,
            refused.message,
        )


def handle_stripe_webhook(*, payload: bytes, signature: str) -> None:
    """Handle an event Stripe sent, once: a redelivered event is acknowledged and skipped.

    The event is recorded in the transaction that handles it, so if handling fails (Stripe
    unreachable) neither is kept and Stripe's retry handles it afresh.
    """
    event = get_gateway().parse_webhook(payload=payload, signature=signature)
    with transaction.atomic():
        _, first_delivery = WebhookEvent.objects.get_or_create(
            event_id=event.id, defaults={"type": event.type}
        )
        if not first_delivery:
            logger.info("Stripe event %s (%s) was handled before", event.id, event.type)
            return
        if event.type == SETUP_INTENT_SUCCEEDED and event.setup_intent is not None:
            _setup_intent_succeeded(event.setup_intent)
        elif event.type in PAYMENT_INTENT_EVENTS and event.payment_intent is not None:
            _payment_intent_changed(event.payment_intent)


def _cancel_setup_intent(
    gateway: PaymentGateway, reservation_id: int, intent: SetupIntentInfo
) -> None:
    gateway.cancel_setup_intent(intent.id, idempotency_key=_cancel_idempotency_key(reservation_id))


def release_card_setup(*, reservation_id: int) -> None:
    """The reservation was cancelled before it was paid for: cancel its SetupIntent, so that
    no card is saved for it. Safe to run late or twice; a card already saved is left alone."""
    reservation = Reservation.objects.get(pk=reservation_id)
    if reservation.status != Reservation.Status.CANCELLED:
        return
    gateway = get_gateway()
    intent = _current_setup_intent(gateway, reservation)
    if intent is None or intent.status in (SUCCEEDED, CANCELED):
        return
    try:
        _cancel_setup_intent(gateway, reservation.pk, intent)
    except UnexpectedSetupIntentState:
        logger.info("SetupIntent %s succeeded before it could be cancelled", intent.id)


def _settle_lapsed_hold(gateway: PaymentGateway, reservation_id: int, now: datetime) -> str:
    """Confirm the reservation if its card was saved after all, else expire it and cancel its
    SetupIntent. Returns what happened."""
    with transaction.atomic():
        # skip_locked: on PostgreSQL a reservation another worker is settling is left to it.
        reservation = (
            Reservation.objects.select_for_update(skip_locked=True)
            .filter(
                pk=reservation_id,
                status=Reservation.Status.PENDING_PAYMENT,
                hold_expires_at__lte=now,
            )
            .first()
        )
        if reservation is None:
            return "skipped"
        intent = _current_setup_intent(gateway, reservation)
        if intent is not None and intent.reservation_id != reservation.pk:
            intent = None  # not this reservation's to confirm or cancel
        if intent is not None and intent.status == SUCCEEDED:
            _confirm_with(gateway, reservation, intent)
            return "confirmed"
        if intent is not None and intent.status != CANCELED:
            try:
                _cancel_setup_intent(gateway, reservation.pk, intent)
            except UnexpectedSetupIntentState as exc:
                # The driver's card went through between our look and the cancel.
                if exc.details.get("setup_intent_status") != SUCCEEDED:
                    raise
                _confirm_with(gateway, reservation, gateway.retrieve_setup_intent(intent.id))
                return "confirmed"
        expire_unpaid_reservation(reservation_id=reservation.pk, now=now)
        return "expired"


def resolve_lapsed_holds(*, now: datetime | None = None, batch_size: int = 100) -> dict[str, int]:
    """Settle reservations still unpaid when their hold lapsed: confirm those whose card was
    saved after all (the browser client never calls confirm for signed-in users, and webhooks
    get lost), expire the rest, freeing their spots. If Stripe cannot be asked, the sweep stops
    and the holds wait for the next one. Returns how many ended each way."""
    now = now or timezone.now()
    gateway = get_gateway()
    lapsed = (
        Reservation.objects.filter(
            status=Reservation.Status.PENDING_PAYMENT, hold_expires_at__lte=now
        )
        .order_by("hold_expires_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    outcomes: Counter[str] = Counter()
    for reservation_id in list(lapsed):
        try:
            outcomes[_settle_lapsed_hold(gateway, reservation_id, now)] += 1
        except ServiceUnavailable:
            # The rest of the batch would wait on Stripe's timeouts just the same.
            logger.warning("Stripe unreachable: lapsed holds wait for the next sweep")
            outcomes["deferred"] += 1
            break
    return dict(outcomes)


def complete_sandbox_card_step(
    *, setup_intent_id: str, client_secret: str, card_number: str
) -> SetupIntentInfo:
    """The sandbox's stand-in for Stripe.js: try a test card on a SetupIntent. When the card
    is saved the reservation is confirmed at once, as Stripe's setup_intent.succeeded webhook
    would have it."""
    gateway = get_gateway()
    if not isinstance(gateway, SandboxGateway):
        raise SandboxDisabled
    try:
        intent = gateway.confirm_setup_intent(
            setup_intent_id, client_secret=client_secret, card_number=card_number
        )
    except SetupIntentNotFound:
        raise Http404 from None
    if intent.status == SUCCEEDED:
        _setup_intent_succeeded(intent)
    return intent


# Charging at the end of a reservation. ``docs/payments.md`` ("Charging at the end") has the
# whole story: one Charge per reservation, written before Stripe is called; a lease instead of a
# row lock while Stripe answers; a look at Stripe before sending again an attempt whose answer
# was never recorded; and the driver's link to pay when the saved card fails.

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

# A PaymentIntent the driver can still confirm in the browser.
CONFIRMABLE = (REQUIRES_PAYMENT_METHOD, REQUIRES_CONFIRMATION, REQUIRES_ACTION)
PAYMENT_INTENT_EVENTS = (PAYMENT_INTENT_SUCCEEDED, PAYMENT_INTENT_PAYMENT_FAILED)


class PaymentNotDue(Conflict):
    """The driver cannot pay now: nothing is owed, or the saved card is being charged."""

    def __init__(self, charge: Charge | None) -> None:
        if charge is None or charge.is_open:
            message = "The saved card is being charged; please check again in a few minutes."
        elif charge.status == Charge.Status.SUCCEEDED:
            message = "This reservation is paid."
        else:
            message = "Nothing is owed: the fee was under the minimum charge."
        super().__init__(message, charge_status=charge.status if charge else None)


class PaymentBusy(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "Another payment for this reservation is being set up; please try again shortly.",
            charge_status=None,
        )


class PaymentIncomplete(Conflict):
    def __init__(self, intent: PaymentIntentInfo | None) -> None:
        status = intent.status if intent else None
        super().__init__(
            f"The payment has not gone through: it is {status or 'not started'}.",
            payment_intent_status=status,
        )


def _charge_key(charge_id: int, attempt: int) -> str:
    return f"charge-{charge_id}-attempt-{attempt}"


def _charge_metadata(charge: Charge, attempt: int) -> dict[str, str]:
    # charge_id and attempt find a payment again (find_payment_intent, webhooks);
    # reservation_id is for people reading Stripe's dashboard.
    return {
        "charge_id": str(charge.pk),
        "attempt": str(attempt),
        "reservation_id": str(charge.pk),
    }


def _retry_backoff(tries: int) -> timedelta:
    return min(CHARGE_RETRY_BACKOFF_START * 2 ** max(tries - 1, 0), CHARGE_RETRY_BACKOFF_MAX)


def _lease_free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


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
        claimed = list(
            Charge.objects.select_for_update(skip_locked=True)
            .filter(pk__in=reservations, status__in=Charge.OPEN_STATUSES)
            .filter(_lease_free(now))
            .order_by("pk")
        )
        # last_sent_at is set with the claim: from here on the charge may have reached Stripe.
        Charge.objects.filter(pk__in=[charge.pk for charge in claimed]).update(
            claimed_until=now + CHARGE_LEASE,
            tries=F("tries") + 1,
            last_sent_at=now,
            updated_at=timezone.now(),
        )
    for charge in claimed:
        charge.reservation = reservations[charge.pk]
        charge.tries += 1
    return claimed


def _claimable(charge_id: int, *, statuses: tuple[str, ...], now: datetime) -> QuerySet[Charge]:
    """The charge, if it is in one of ``statuses`` and nobody holds its lease, to claim with
    one conditional UPDATE committed at once."""
    return Charge.objects.filter(pk=charge_id, status__in=statuses).filter(_lease_free(now))


def _release_charge(charge_id: int) -> None:
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
    unsent = list(reversed(claimed))
    failure: Exception | None = None
    started = recorded = time.monotonic()
    try:
        while unsent:
            charge = unsent.pop()
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
                _record_charge_results(answers, now=now)
                answers, recorded = [], time.monotonic()
            if time.monotonic() - started >= CHARGE_BATCH_SECONDS:
                break
    finally:
        _record_charge_results(answers, now=now)
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
    Charge.objects.filter(pk__in=never_sent).update(
        claimed_until=None, last_sent_at=None, tries=F("tries") - 1
    )
    # Sent by an earlier claim, answer unrecorded: the next run still looks at Stripe first.
    sent_before = [charge.pk for charge in charges if charge.last_sent_at is not None]
    Charge.objects.filter(pk__in=sent_before).update(claimed_until=None, tries=F("tries") - 1)


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
            idempotency_key=_charge_key(charge.pk, charge.attempt),
            metadata=_charge_metadata(charge, charge.attempt),
        )
    except SavedCardUnavailable as gone:
        return gone


@dataclass
class _Settled:
    """Charges settled in one transaction, and the emails saying so."""

    charges: list[Charge] = field(default_factory=list)
    emails: list[ReservationEmail] = field(default_factory=list)


def _record_charge_results(answers: Sequence[tuple[int, ChargeAnswer]], *, now: datetime) -> None:
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


def _record_paid(
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
    for paid in (True, False):
        record_payment_outcomes(
            reservations=[
                charge.reservation
                for charge in settled.charges
                if (charge.status == Charge.Status.SUCCEEDED) == paid
            ],
            paid=paid,
            now=now,
        )
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
        "next_attempt_at": now + _retry_backoff(charge.tries),
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
        .filter(_lease_free(now))
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


# The driver pays in the browser after the saved card failed.


def _charge_awaiting_driver(reservation_id: int) -> Charge:
    charge = Charge.objects.select_related("reservation").filter(pk=reservation_id).first()
    if charge is None or not charge.awaits_driver:
        raise PaymentNotDue(charge)
    return charge


def _card_of(
    gateway: PaymentGateway, charge: Charge, intent: PaymentIntentInfo
) -> CardDetails | None:
    """The card that paid, when it is not the saved one."""
    saved = charge.reservation.stripe_payment_method_id
    if not intent.payment_method or intent.payment_method == saved:
        return None
    return gateway.retrieve_card(intent.payment_method)


def _paid_by(
    gateway: PaymentGateway, charge: Charge, intent: PaymentIntentInfo, now: datetime
) -> Charge:
    return _record_paid(charge.pk, intent, card=_card_of(gateway, charge, intent), now=now)


def start_payment_recovery(
    *, reservation_id: int, now: datetime | None = None
) -> PaymentIntentInfo:
    """A PaymentIntent for the driver to pay the failed charge with in the browser: Stripe.js
    confirms it with a card typed in, asking the bank to authenticate if it wants to.

    The failed off-session PaymentIntent is cancelled first, so that only one PaymentIntent of
    a charge can ever be paid; the new one is the next attempt, with its own idempotency key,
    and is handed out again until it is paid or cancelled.
    """
    now = now or timezone.now()
    charge = _charge_awaiting_driver(reservation_id)
    claimed = _claimable(charge.pk, statuses=Charge.AWAITING_DRIVER_STATUSES, now=now).update(
        claimed_until=now + CHARGE_LEASE, updated_at=timezone.now()
    )
    if not claimed:
        raise PaymentBusy
    try:
        return _recovery_intent(get_gateway(), charge, now=now)
    finally:
        _release_charge(charge.pk)


def _recovery_intent(
    gateway: PaymentGateway, charge: Charge, *, now: datetime
) -> PaymentIntentInfo:
    if charge.stripe_payment_intent_id:
        current = _close_or_reuse(gateway, charge, now=now)
        if current is not None:
            return current
    attempt = charge.attempt + 1
    intent = gateway.create_payment_intent(
        amount_cents=charge.amount_cents,
        currency=charge.currency,
        idempotency_key=_charge_key(charge.pk, attempt),
        metadata=_charge_metadata(charge, attempt),
    )
    Charge.objects.filter(pk=charge.pk).update(
        attempt=attempt, stripe_payment_intent_id=intent.id, updated_at=timezone.now()
    )
    return intent


def _close_or_reuse(
    gateway: PaymentGateway, charge: Charge, *, now: datetime
) -> PaymentIntentInfo | None:
    """The current PaymentIntent if the driver can still pay it; otherwise it is made unpayable
    (cancelled) and None returned, for a new attempt."""
    try:
        current = gateway.retrieve_payment_intent(charge.stripe_payment_intent_id)
    except PaymentIntentNotFound:
        return None  # made with other keys (a Stripe account changed): nothing to cancel
    reusable = charge.attempt > Charge.OFF_SESSION_ATTEMPT and current.status in CONFIRMABLE
    if reusable:
        return current
    if current.status not in (SUCCEEDED, CANCELED, PROCESSING):
        try:
            current = gateway.cancel_payment_intent(
                current.id, idempotency_key=f"{_charge_key(charge.pk, charge.attempt)}-cancel"
            )
        except UnexpectedPaymentIntentState:
            current = gateway.retrieve_payment_intent(current.id)
    if current.status == SUCCEEDED:
        # Paid after all (a late answer, another tab): record it, nothing more to pay.
        raise PaymentNotDue(_paid_by(gateway, charge, current, now))
    if current.status == PROCESSING:
        raise PaymentIncomplete(current)
    return None


def confirm_payment_recovery(*, reservation_id: int, now: datetime | None = None) -> Charge:
    """The browser says the driver paid: ask Stripe (never the caller) whether the current
    PaymentIntent succeeded, and if so record the charge paid and send the receipt. Paid
    already: nothing changes. Raises PaymentIncomplete otherwise."""
    now = now or timezone.now()
    charge = Charge.objects.select_related("reservation").filter(pk=reservation_id).first()
    if charge is not None and charge.status == Charge.Status.SUCCEEDED:
        return charge
    if charge is None or not charge.awaits_driver:
        raise PaymentNotDue(charge)
    if not charge.stripe_payment_intent_id:
        raise PaymentIncomplete(None)
    gateway = get_gateway()
    intent = gateway.retrieve_payment_intent(charge.stripe_payment_intent_id)
    if intent.status != SUCCEEDED:
        raise PaymentIncomplete(intent)
    return _paid_by(gateway, charge, intent, now)


def _payment_intent_changed(event_intent: PaymentIntentInfo) -> None:
    """Stripe reports a payment succeeded or failed. A success settles the charge whichever
    way it was paid; a failure matters only if it answers an off-session charge whose worker
    died before recording it. The PaymentIntent is asked for afresh, never read from the body."""
    charge = None
    if event_intent.charge_id is not None:
        charge = (
            Charge.objects.select_related("reservation").filter(pk=event_intent.charge_id).first()
        )
    if charge is None:
        logger.info("PaymentIntent %s is no charge's", event_intent.id)
        return
    gateway = get_gateway()
    intent = gateway.retrieve_payment_intent(event_intent.id)
    if intent.charge_id != charge.pk:
        logger.warning("PaymentIntent %s does not name charge %s", intent.id, charge.pk)
        return
    now = timezone.now()
    if intent.status == SUCCEEDED:
        _paid_by(gateway, charge, intent, now)
    elif charge.is_open and intent.attempt == charge.attempt:
        _record_charge_results([(charge.pk, intent)], now=now)


def sandbox_in_use() -> bool:
    return isinstance(get_gateway(), SandboxGateway)


def complete_sandbox_payment(
    *, reservation_id: int, card_number: str, now: datetime | None = None
) -> PaymentIntentInfo:
    """The sandbox's stand-in for Stripe.js on the payment page: pay the failed charge with a
    test card. Returns the PaymentIntent after the attempt; a declined card leaves the charge
    awaiting another one."""
    gateway = get_gateway()
    if not isinstance(gateway, SandboxGateway):
        raise SandboxDisabled
    intent = start_payment_recovery(reservation_id=reservation_id, now=now)
    intent = gateway.confirm_payment_intent(intent.id, card_number=card_number)
    if intent.status == SUCCEEDED:
        confirm_payment_recovery(reservation_id=reservation_id, now=now)
    return intent


def clear_charge_attention(*, charge_ids: list[int]) -> int:
    """An operator has dealt with these charges; the reason stays on record."""
    return Charge.objects.filter(pk__in=charge_ids, needs_attention=True).update(
        needs_attention=False, updated_at=timezone.now()
    )
