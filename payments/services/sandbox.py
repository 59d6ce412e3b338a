"""The sandbox's stand-ins for Stripe.js (`make run` with no Stripe account): saving a test
card on a SetupIntent, and paying a failed charge from the payment page."""

from datetime import datetime

from django.http import Http404

from payments.gateways import (
    SUCCEEDED,
    PaymentIntentInfo,
    SandboxGateway,
    SetupIntentInfo,
    SetupIntentNotFound,
    get_gateway,
)
from payments.services.card_setup import confirm_reported_setup_intent
from payments.services.recovery import confirm_payment_recovery, start_payment_recovery


class SandboxDisabled(Exception):
    """Stripe keys are set, so the sandbox's card step is not served."""


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
        confirm_reported_setup_intent(intent)
    return intent


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
