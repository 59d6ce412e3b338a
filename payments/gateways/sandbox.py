"""A stand-in for Stripe when no Stripe key is set, so the service runs with no account.

It behaves like Stripe in test mode for what this service uses: customers, SetupIntents that
honour idempotency keys, and Stripe's test card numbers. Its state is in the database so the
web server and the Celery worker agree. docs/payments.md shows how to drive it with curl.
"""

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from payments.gateways.base import (
    CANCELED,
    SUCCEEDED,
    CardDetails,
    SetupIntentInfo,
    SetupIntentNotFound,
    UnexpectedSetupIntentState,
    WebhookEventInfo,
    WebhooksNotConfigured,
)
from payments.models import SandboxCustomer, SandboxPaymentMethod, SandboxSetupIntent
from securemyspot.errors import DomainError


@dataclass(frozen=True)
class SandboxCard:
    brand: str
    outcome: str  # the SetupIntent's status once confirmed with it, or "declined"
    decline_code: str = ""


DECLINED = "declined"

# A few of https://docs.stripe.com/testing's card numbers, with the outcome Stripe gives them.
TEST_CARDS = {
    "4242424242424242": SandboxCard("visa", SUCCEEDED),
    "4000056655665556": SandboxCard("visa", SUCCEEDED),
    "5555555555554444": SandboxCard("mastercard", SUCCEEDED),
    "378282246310005": SandboxCard("amex", SUCCEEDED),
    "4000002760003184": SandboxCard("visa", SandboxSetupIntent.Status.REQUIRES_ACTION),
    "4000000000000002": SandboxCard("visa", DECLINED, "generic_decline"),
    "4000000000009995": SandboxCard("visa", DECLINED, "insufficient_funds"),
}
DECLINE_MESSAGE = "Your card was declined."


class UnknownSandboxCard(DomainError):
    field = "card_number"

    def __init__(self) -> None:
        super().__init__(
            "The sandbox takes Stripe's test cards only: "
            + ", ".join(sorted(TEST_CARDS))
            + " (see docs/payments.md)."
        )


class CardDeclined(DomainError):
    """The card was refused; the SetupIntent awaits another card. 402 as at Stripe."""

    status_code = 402

    def __init__(self, intent: SetupIntentInfo, decline_code: str) -> None:
        super().__init__(intent.last_error or DECLINE_MESSAGE)
        self.intent = intent
        self.decline_code = decline_code

    def as_body(self) -> dict:
        return {
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": self.decline_code,
                "message": self.message,
            },
            "setup_intent": {"id": self.intent.id, "status": self.intent.status},
        }


def _new_id(prefix: str) -> str:
    return f"{prefix}_sandbox_{secrets.token_hex(12)}"


def _info(intent: SandboxSetupIntent) -> SetupIntentInfo:
    return SetupIntentInfo(
        id=intent.id,
        client_secret=intent.client_secret,
        status=intent.status,
        customer=intent.customer_id,
        payment_method=intent.payment_method_id,
        reservation_id=intent.reservation_id,
        last_error=intent.last_error or None,
    )


class SandboxGateway:
    def create_customer(self, *, email: str, idempotency_key: str) -> str:
        customer, _ = SandboxCustomer.objects.get_or_create(
            idempotency_key=idempotency_key, defaults={"id": _new_id("cus"), "email": email}
        )
        return customer.id

    def create_setup_intent(
        self, *, customer_id: str, reservation_id: int, idempotency_key: str
    ) -> SetupIntentInfo:
        intent_id = _new_id("seti")
        intent, _ = SandboxSetupIntent.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "id": intent_id,
                "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
                "customer_id": customer_id,
                "reservation_id": reservation_id,
            },
        )
        return _info(intent)

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentInfo:
        return _info(self._get(setup_intent_id))

    def cancel_setup_intent(self, setup_intent_id: str, *, idempotency_key: str) -> SetupIntentInfo:
        with transaction.atomic():
            intent = self._get(setup_intent_id, SandboxSetupIntent.objects.select_for_update())
            if intent.status == SUCCEEDED:
                raise UnexpectedSetupIntentState(intent.status)
            intent.status = CANCELED
            intent.save(update_fields=["status", "updated_at"])
        return _info(intent)

    def retrieve_card(self, payment_method_id: str) -> CardDetails:
        method = SandboxPaymentMethod.objects.get(pk=payment_method_id)
        return CardDetails(payment_method_id=method.id, brand=method.brand, last4=method.last4)

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookEventInfo:
        raise WebhooksNotConfigured(
            "This server runs the payment sandbox, which sends no webhooks: no Stripe key is set."
        )

    def confirm_setup_intent(self, setup_intent_id: str, *, card_number: str) -> SetupIntentInfo:
        """What Stripe.js does in the browser: try the card on the SetupIntent. A declined card
        leaves it awaiting another card and raises CardDeclined."""
        card = TEST_CARDS.get(card_number)
        if card is None:
            raise UnknownSandboxCard()
        with transaction.atomic():
            intent = self._get(setup_intent_id, SandboxSetupIntent.objects.select_for_update())
            if intent.status in (SUCCEEDED, CANCELED):
                raise UnexpectedSetupIntentState(intent.status)
            if card.outcome == DECLINED:
                intent.status = SandboxSetupIntent.Status.REQUIRES_PAYMENT_METHOD
                intent.payment_method = None
                intent.last_error = DECLINE_MESSAGE
            else:
                intent.status = card.outcome
                intent.payment_method = SandboxPaymentMethod.objects.create(
                    id=_new_id("pm"), brand=card.brand, last4=card_number[-4:]
                )
                intent.last_error = ""
            intent.save()
        if card.outcome == DECLINED:
            raise CardDeclined(_info(intent), card.decline_code)
        return _info(intent)

    @staticmethod
    def _get(setup_intent_id: str, intents: QuerySet | None = None) -> SandboxSetupIntent:
        if intents is None:
            intents = SandboxSetupIntent.objects.all()
        try:
            return intents.get(pk=setup_intent_id)
        except SandboxSetupIntent.DoesNotExist:
            raise SetupIntentNotFound(setup_intent_id) from None
