"""Stripe's webhook: each event handled once, its object asked for afresh at Stripe."""

import logging

from django.db import transaction
from django.utils import timezone

from payments.gateways import (
    PAYMENT_INTENT_PAYMENT_FAILED,
    PAYMENT_INTENT_SUCCEEDED,
    SETUP_INTENT_SUCCEEDED,
    SUCCEEDED,
    PaymentIntentInfo,
    get_gateway,
)
from payments.models import Charge, WebhookEvent
from payments.services.card_setup import confirm_reported_setup_intent
from payments.services.charging import record_charge_results
from payments.services.recovery import record_paid_by

logger = logging.getLogger(__name__)

PAYMENT_INTENT_EVENTS = (PAYMENT_INTENT_SUCCEEDED, PAYMENT_INTENT_PAYMENT_FAILED)


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
            confirm_reported_setup_intent(event.setup_intent)
        elif event.type in PAYMENT_INTENT_EVENTS and event.payment_intent is not None:
            _payment_intent_changed(event.payment_intent)


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
        record_paid_by(gateway, charge, intent, now)
    elif charge.is_open and intent.attempt == charge.attempt:
        record_charge_results([(charge.pk, intent)], now=now)
