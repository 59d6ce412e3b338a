"""The payment gateway on Stripe, through the official SDK."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe

from payments.gateways.base import (
    CardDetails,
    InvalidWebhook,
    PaymentGatewayUnavailable,
    SetupIntentInfo,
    SetupIntentNotFound,
    UnexpectedSetupIntentState,
    WebhookEventInfo,
    WebhooksNotConfigured,
)

# Connect and read timeouts per attempt. Requests wait on these (and hold a reservation's row
# lock meanwhile), so they are far below the SDK's default of 80 seconds.
HTTP_TIMEOUT_SECONDS = (5.0, 20.0)
# The SDK retries connection errors, 409s and 5xx with backoff, sending the same idempotency
# key, so a retried write is never done twice at Stripe.
MAX_NETWORK_RETRIES = 2

logger = logging.getLogger(__name__)


@contextmanager
def _calling_stripe() -> Iterator[None]:
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        logger.warning("Stripe unavailable: %s", exc)
        raise PaymentGatewayUnavailable() from exc
    except stripe.StripeError as exc:
        # 409: a request with the same idempotency key is still running at Stripe.
        if exc.http_status is not None and (exc.http_status >= 500 or exc.http_status == 409):
            logger.warning("Stripe unavailable: %s", exc)
            raise PaymentGatewayUnavailable() from exc
        raise


def _metadata_reservation_id(metadata: dict[str, Any] | None) -> int | None:
    try:
        return int((metadata or {})["reservation_id"])
    except (KeyError, TypeError, ValueError):
        return None


def _setup_intent_info(intent: dict[str, Any]) -> SetupIntentInfo:
    last_error = intent.get("last_setup_error") or {}
    return SetupIntentInfo(
        id=intent["id"],
        client_secret=intent.get("client_secret") or "",
        status=intent["status"],
        customer=_id_of(intent.get("customer")),
        payment_method=_id_of(intent.get("payment_method")),
        reservation_id=_metadata_reservation_id(intent.get("metadata")),
        last_error=last_error.get("message"),
    )


def _id_of(reference: str | dict[str, Any] | None) -> str | None:
    """An id, whether Stripe sent it bare or as an expanded object."""
    return reference.get("id") if isinstance(reference, dict) else reference


class StripeGateway:
    def __init__(self, *, secret_key: str, webhook_secret: str, api_base: str = "") -> None:
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=HTTP_TIMEOUT_SECONDS),
        )

    def create_customer(self, *, email: str, idempotency_key: str) -> str:
        with _calling_stripe():
            customer = self._client.v1.customers.create(
                params={"email": email}, options={"idempotency_key": idempotency_key}
            )
        return customer.id

    def create_setup_intent(
        self, *, customer_id: str, reservation_id: int, idempotency_key: str
    ) -> SetupIntentInfo:
        with _calling_stripe():
            intent = self._client.v1.setup_intents.create(
                params={
                    "customer": customer_id,
                    "usage": "off_session",
                    "payment_method_types": ["card"],
                    "metadata": {"reservation_id": str(reservation_id)},
                },
                options={"idempotency_key": idempotency_key},
            )
        return _setup_intent_info(intent.to_dict())

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentInfo:
        try:
            with _calling_stripe():
                intent = self._client.v1.setup_intents.retrieve(setup_intent_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise SetupIntentNotFound(setup_intent_id) from exc
            raise
        return _setup_intent_info(intent.to_dict())

    def cancel_setup_intent(self, setup_intent_id: str, *, idempotency_key: str) -> SetupIntentInfo:
        try:
            with _calling_stripe():
                intent = self._client.v1.setup_intents.cancel(
                    setup_intent_id, options={"idempotency_key": idempotency_key}
                )
        except stripe.InvalidRequestError as exc:
            if exc.code == "setup_intent_unexpected_state":
                current = self.retrieve_setup_intent(setup_intent_id)
                raise UnexpectedSetupIntentState(current.status) from exc
            raise
        return _setup_intent_info(intent.to_dict())

    def retrieve_card(self, payment_method_id: str) -> CardDetails:
        with _calling_stripe():
            method = self._client.v1.payment_methods.retrieve(payment_method_id)
        card = method.to_dict().get("card") or {}
        return CardDetails(
            payment_method_id=method.id,
            brand=card.get("brand", ""),
            last4=card.get("last4", ""),
        )

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookEventInfo:
        if not self._webhook_secret:
            raise WebhooksNotConfigured("No Stripe webhook signing secret is configured.")
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, stripe.Webhook.DEFAULT_TOLERANCE
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook("The Stripe-Signature header does not match the body.") from exc
        try:
            event = json.loads(payload)
            event_object = event["data"]["object"]
            is_setup_intent = event_object.get("object") == "setup_intent"
            return WebhookEventInfo(
                id=event["id"],
                type=event["type"],
                setup_intent=_setup_intent_info(event_object) if is_setup_intent else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidWebhook("The body is not a Stripe event.") from exc
