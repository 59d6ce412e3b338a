"""A stand-in for Stripe when no Stripe key is set, so the service runs with no account.

It behaves like Stripe in test mode for what this service uses: customers, SetupIntents and
PaymentIntents that honour idempotency keys, and Stripe's test card numbers. Its state is in
the database so the web server and the Celery worker agree. docs/payments.md shows how to
drive it with curl.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from payments.gateways.base import (
    AUTHENTICATION_REQUIRED,
    CANCELED,
    SUCCEEDED,
    CardDetails,
    PaymentIntentInfo,
    PaymentIntentNotFound,
    SavedCardUnavailable,
    SetupIntentInfo,
    SetupIntentNotFound,
    UnexpectedPaymentIntentState,
    UnexpectedSetupIntentState,
    WebhookEventInfo,
    WebhooksNotConfigured,
)
from payments.models import (
    SandboxCustomer,
    SandboxPaymentIntent,
    SandboxPaymentMethod,
    SandboxSetupIntent,
)
from securemyspot.errors import DomainError

ChargeOutcome = SandboxPaymentMethod.ChargeOutcome


@dataclass(frozen=True)
class SandboxCard:
    brand: str
    outcome: str  # the SetupIntent's status once confirmed with it, or "declined"
    decline_code: str = ""
    # What charging it off-session later does, once it is saved.
    charge_outcome: str = ChargeOutcome.SUCCEEDED


DECLINED = "declined"

# A few of https://docs.stripe.com/testing's card numbers, with the outcome Stripe gives them.
TEST_CARDS = {
    "4242424242424242": SandboxCard("visa", SUCCEEDED),
    "4000056655665556": SandboxCard("visa", SUCCEEDED),
    "5555555555554444": SandboxCard("mastercard", SUCCEEDED),
    "378282246310005": SandboxCard("amex", SUCCEEDED),
    # Saved without trouble; every charge of it is declined.
    "4000000000000341": SandboxCard("visa", SUCCEEDED, charge_outcome=ChargeOutcome.DECLINED),
    "4000002760003184": SandboxCard(
        "visa",
        SandboxSetupIntent.Status.REQUIRES_ACTION,
        charge_outcome=ChargeOutcome.AUTHENTICATION_REQUIRED,
    ),
    "4000000000000002": SandboxCard("visa", DECLINED, "generic_decline", ChargeOutcome.DECLINED),
    "4000000000009995": SandboxCard("visa", DECLINED, "insufficient_funds", ChargeOutcome.DECLINED),
}
DECLINE_MESSAGE = "Your card was declined."
AUTHENTICATION_MESSAGE = "Your card was declined. This transaction requires authentication."


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


def _metadata_int(intent: SandboxPaymentIntent, key: str) -> int | None:
    value = intent.metadata.get(key)
    return int(value) if value is not None else None


def _payment_info(intent: SandboxPaymentIntent) -> PaymentIntentInfo:
    return PaymentIntentInfo(
        id=intent.id,
        status=intent.status,
        client_secret=intent.client_secret,
        amount=intent.amount,
        currency=intent.currency,
        customer=intent.customer_id or None,
        payment_method=intent.payment_method_id,
        charge_id=_metadata_int(intent, "charge_id"),
        attempt=_metadata_int(intent, "attempt"),
        failure_code=intent.failure_code or None,
        failure_message=intent.failure_message or None,
    )


def _payment_intent_for_key(idempotency_key: str, **fields: object) -> SandboxPaymentIntent:
    """The PaymentIntent made with this key, made now with ``fields`` if it is new."""
    intent_id = _new_id("pi")
    intent, _ = SandboxPaymentIntent.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "id": intent_id,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            **fields,
        },
    )
    return intent


def _charge_result(outcome: str) -> dict[str, str]:
    """A PaymentIntent's fields after charging a card with this outcome off-session. As at
    Stripe, a card needing authentication fails with ``authentication_required``."""
    if outcome == ChargeOutcome.DECLINED:
        return {
            "status": SandboxPaymentIntent.Status.REQUIRES_PAYMENT_METHOD,
            "failure_code": "card_declined",
            "failure_message": DECLINE_MESSAGE,
        }
    if outcome == ChargeOutcome.AUTHENTICATION_REQUIRED:
        return {
            "status": SandboxPaymentIntent.Status.REQUIRES_PAYMENT_METHOD,
            "failure_code": AUTHENTICATION_REQUIRED,
            "failure_message": AUTHENTICATION_MESSAGE,
        }
    return {"status": SandboxPaymentIntent.Status.SUCCEEDED}


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

    def confirm_setup_intent(
        self, setup_intent_id: str, *, client_secret: str, card_number: str
    ) -> SetupIntentInfo:
        """What Stripe.js does in the browser: try the card on the SetupIntent, which, as at
        Stripe, takes its client secret (only the checkout that made it was given that; the id
        alone may be seen elsewhere). A wrong secret is answered as an unknown SetupIntent, so
        it tells nothing about which ids exist. A declined card leaves it awaiting another card
        and raises CardDeclined."""
        card = TEST_CARDS.get(card_number)
        if card is None:
            raise UnknownSandboxCard()
        with transaction.atomic():
            intent = self._get(setup_intent_id, SandboxSetupIntent.objects.select_for_update())
            if not secrets.compare_digest(intent.client_secret, client_secret):
                raise SetupIntentNotFound(setup_intent_id)
            if intent.status in (SUCCEEDED, CANCELED):
                raise UnexpectedSetupIntentState(intent.status)
            if card.outcome == DECLINED:
                intent.status = SandboxSetupIntent.Status.REQUIRES_PAYMENT_METHOD
                intent.payment_method = None
                intent.last_error = DECLINE_MESSAGE
            else:
                intent.status = card.outcome
                intent.payment_method = SandboxPaymentMethod.objects.create(
                    id=_new_id("pm"),
                    brand=card.brand,
                    last4=card_number[-4:],
                    charge_outcome=card.charge_outcome,
                )
                intent.last_error = ""
            intent.save()
        if card.outcome == DECLINED:
            raise CardDeclined(_info(intent), card.decline_code)
        return _info(intent)

    def charge_off_session(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> PaymentIntentInfo:
        if not SandboxCustomer.objects.filter(pk=customer_id).exists():
            raise SavedCardUnavailable(
                f"No such customer: {customer_id!r}", code="resource_missing"
            )
        method = SandboxPaymentMethod.objects.filter(pk=payment_method_id).first()
        if method is None:
            raise SavedCardUnavailable(
                f"No such PaymentMethod: {payment_method_id!r}", code="resource_missing"
            )
        # The outcome is decided when the PaymentIntent is made; a replayed key returns it.
        return _payment_info(
            _payment_intent_for_key(
                idempotency_key,
                amount=amount_cents,
                currency=currency,
                customer_id=customer_id,
                payment_method=method,
                metadata=metadata,
                **_charge_result(method.charge_outcome),
            )
        )

    def create_payment_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> PaymentIntentInfo:
        return _payment_info(
            _payment_intent_for_key(
                idempotency_key, amount=amount_cents, currency=currency, metadata=metadata
            )
        )

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        return _payment_info(self._get_payment_intent(payment_intent_id))

    def cancel_payment_intent(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> PaymentIntentInfo:
        with transaction.atomic():
            intent = self._get_payment_intent(
                payment_intent_id, SandboxPaymentIntent.objects.select_for_update()
            )
            if intent.status == SUCCEEDED:
                raise UnexpectedPaymentIntentState(intent.status)
            intent.status = CANCELED
            intent.save(update_fields=["status", "updated_at"])
        return _payment_info(intent)

    def find_payment_intent(
        self, *, customer_id: str, charge_id: int, attempt: int, created_after: datetime
    ) -> PaymentIntentInfo | None:
        intent = (
            SandboxPaymentIntent.objects.filter(
                customer_id=customer_id,
                created_at__gt=created_after,
                metadata__charge_id=str(charge_id),
                metadata__attempt=str(attempt),
            )
            .order_by("created_at")
            .first()
        )
        return None if intent is None else _payment_info(intent)

    def confirm_payment_intent(
        self, payment_intent_id: str, *, card_number: str
    ) -> PaymentIntentInfo:
        """What Stripe.js does in the browser: pay a PaymentIntent with a card typed in. The
        driver is present, so a card that asks for 3-D Secure is taken as authenticated (the
        sandbox has no challenge page); a declined card leaves it awaiting another card."""
        card = TEST_CARDS.get(card_number)
        if card is None:
            raise UnknownSandboxCard()
        with transaction.atomic():
            intent = self._get_payment_intent(
                payment_intent_id, SandboxPaymentIntent.objects.select_for_update()
            )
            if intent.status in (SUCCEEDED, CANCELED):
                raise UnexpectedPaymentIntentState(intent.status)
            if card.outcome == DECLINED or card.charge_outcome == ChargeOutcome.DECLINED:
                intent.status = SandboxPaymentIntent.Status.REQUIRES_PAYMENT_METHOD
                intent.payment_method = None
                intent.failure_code = "card_declined"
                intent.failure_message = DECLINE_MESSAGE
            else:
                intent.status = SandboxPaymentIntent.Status.SUCCEEDED
                intent.payment_method = SandboxPaymentMethod.objects.create(
                    id=_new_id("pm"),
                    brand=card.brand,
                    last4=card_number[-4:],
                    charge_outcome=card.charge_outcome,
                )
                intent.failure_code = intent.failure_message = ""
            intent.save()
        return _payment_info(intent)

    @staticmethod
    def _get_payment_intent(
        payment_intent_id: str, intents: QuerySet | None = None
    ) -> SandboxPaymentIntent:
        if intents is None:
            intents = SandboxPaymentIntent.objects.all()
        try:
            return intents.get(pk=payment_intent_id)
        except SandboxPaymentIntent.DoesNotExist:
            raise PaymentIntentNotFound(payment_intent_id) from None

    @staticmethod
    def _get(setup_intent_id: str, intents: QuerySet | None = None) -> SandboxSetupIntent:
        if intents is None:
            intents = SandboxSetupIntent.objects.all()
        try:
            return intents.get(pk=setup_intent_id)
        except SandboxSetupIntent.DoesNotExist:
            raise SetupIntentNotFound(setup_intent_id) from None
