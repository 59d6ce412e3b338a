"""Saving the driver's card with a SetupIntent while the reservation holds its spot, and
confirming the reservation once the card is saved (from the client, Stripe's webhook, the
sandbox or the sweeps), or settling the hold when it lapses unpaid.

Stripe is called inside the transaction that records what it returned, so when Stripe cannot be
reached nothing is written: no row ever names a Stripe object that was not created. Every write
to Stripe carries an idempotency key derived from the reservation (or email) and its purpose, so
a repeated request finds the object the first one made. See docs/payments.md.
"""

import hashlib
import logging
from collections import Counter
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import normalize_email
from payments.gateways import (
    CANCELED,
    SUCCEEDED,
    PaymentGateway,
    SetupIntentInfo,
    SetupIntentNotFound,
    UnexpectedSetupIntentState,
    get_gateway,
)
from payments.models import SetupAttempt, StripeCustomer
from reservations.errors import ReservationNotPending
from reservations.models import Reservation
from reservations.services import (
    claim_lapsed_hold,
    confirm_reservation,
    expire_unpaid_reservation,
    lock_reservation,
    record_card_setup_started,
)
from securemyspot.errors import Conflict, ServiceUnavailable

logger = logging.getLogger(__name__)

# A driver who saved a card in the browser client is confirmed by the webhook, or, if none
# arrives, by asking Stripe: first this long after the SetupIntent was made (about what saving a
# card takes), then every CARD_CHECK_INTERVAL while the hold lasts. With beat's sweep every 15 s
# the first look is within a minute of the SetupIntent's creation.
FIRST_CARD_CHECK_AFTER = timedelta(seconds=30)
CARD_CHECK_INTERVAL = timedelta(minutes=1)


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
        reservation = lock_reservation(reservation_id)
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
            reservation=reservation,
            number=attempt,
            setup_intent_id=intent.id,
            next_check_at=timezone.now() + FIRST_CARD_CHECK_AFTER,
        )
        record_card_setup_started(
            reservation=reservation, customer_id=customer_id, setup_intent_id=intent.id
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


def confirm_reported_setup_intent(intent: SetupIntentInfo) -> None:
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
        # On PostgreSQL a reservation another worker is settling is left to it (SKIP LOCKED).
        reservation = claim_lapsed_hold(reservation_id=reservation_id, now=now)
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


def confirm_saved_cards(*, now: datetime | None = None, batch_size: int = 100) -> dict[str, int]:
    """Ask Stripe about held reservations whose SetupIntent is due a look, and confirm those
    whose card was saved, exactly as the confirm route does (``confirm_card_setup``; email
    once). The look is claimed by moving its time a CARD_CHECK_INTERVAL on, in a transaction
    committed before Stripe is called, so two sweeps never ask about one SetupIntent at once
    and a failed look is simply repeated by a later sweep. Holds that have lapsed are
    ``resolve_lapsed_holds``'s. Returns how many were confirmed and how many are still
    awaiting a card."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            SetupAttempt.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                next_check_at__lte=now,
                reservation__status=Reservation.Status.PENDING_PAYMENT,
                reservation__hold_expires_at__gt=now,
                reservation__stripe_setup_intent_id=F("setup_intent_id"),
            )
            .order_by("next_check_at")
            .values_list("pk", "reservation_id")[:batch_size]
        )
        SetupAttempt.objects.filter(pk__in=[pk for pk, _ in due]).update(
            next_check_at=now + CARD_CHECK_INTERVAL
        )
    outcomes: Counter[str] = Counter()
    for _, reservation_id in due:
        try:
            confirm_card_setup(reservation_id=reservation_id)
        except ServiceUnavailable:
            # The rest would wait on Stripe's timeouts too; they are asked again in a minute.
            logger.warning("Stripe unreachable: saved cards are looked for in the next sweep")
            break
        except Conflict:
            outcomes["awaiting_card"] += 1  # not saved (yet), or no longer pending
        else:
            outcomes["confirmed"] += 1
    return dict(outcomes)
