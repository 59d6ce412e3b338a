"""The driver pays in the browser, from the emailed link, after the saved card failed."""

from datetime import datetime

from django.utils import timezone

from payments.gateways import (
    CANCELED,
    PROCESSING,
    REQUIRES_ACTION,
    REQUIRES_CONFIRMATION,
    REQUIRES_PAYMENT_METHOD,
    SUCCEEDED,
    CardDetails,
    PaymentGateway,
    PaymentIntentInfo,
    PaymentIntentNotFound,
    UnexpectedPaymentIntentState,
    get_gateway,
)
from payments.models import Charge
from payments.services.charging import (
    CHARGE_LEASE,
    charge_idempotency_key,
    charge_metadata,
    claimable_charge,
    record_paid,
    release_charge,
)
from securemyspot.errors import Conflict

# A PaymentIntent the driver can still confirm in the browser.
CONFIRMABLE = (REQUIRES_PAYMENT_METHOD, REQUIRES_CONFIRMATION, REQUIRES_ACTION)


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


def record_paid_by(
    gateway: PaymentGateway, charge: Charge, intent: PaymentIntentInfo, now: datetime
) -> Charge:
    return record_paid(charge.pk, intent, card=_card_of(gateway, charge, intent), now=now)


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
    claimed = claimable_charge(charge.pk, statuses=Charge.AWAITING_DRIVER_STATUSES, now=now).update(
        claimed_until=now + CHARGE_LEASE, updated_at=timezone.now()
    )
    if not claimed:
        raise PaymentBusy
    try:
        return _recovery_intent(get_gateway(), charge, now=now)
    finally:
        release_charge(charge.pk)


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
        idempotency_key=charge_idempotency_key(charge.pk, attempt),
        metadata=charge_metadata(charge, attempt),
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
                current.id,
                idempotency_key=f"{charge_idempotency_key(charge.pk, charge.attempt)}-cancel",
            )
        except UnexpectedPaymentIntentState:
            current = gateway.retrieve_payment_intent(current.id)
    if current.status == SUCCEEDED:
        # Paid after all (a late answer, another tab): record it, nothing more to pay.
        raise PaymentNotDue(record_paid_by(gateway, charge, current, now))
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
    return record_paid_by(gateway, charge, intent, now)
