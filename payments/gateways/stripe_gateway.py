"""The payment gateway on Stripe, through the official SDK."""

import dataclasses
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import stripe

from payments.gateways.base import (
    CANCELED,
    CardDetails,
    InvalidWebhook,
    PaymentGatewayUnavailable,
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


# Our ids (reservations, charges) are positive 64-bit integers; anything else in metadata names
# none of ours, and a larger number would overflow the database's integer in a lookup.
MAX_ID = 2**63 - 1


def _metadata_int(metadata: dict[str, Any] | None, key: str) -> int | None:
    try:
        value = int((metadata or {})[key])
    except (KeyError, TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def _text(fields: dict[str, Any], key: str) -> str:
    """A field Stripe always sends as non-empty text; anything else is not a Stripe event."""
    value = fields[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} must be text, not {json.dumps(value)}")
    return value


def _setup_intent_info(intent: dict[str, Any]) -> SetupIntentInfo:
    last_error = intent.get("last_setup_error") or {}
    return SetupIntentInfo(
        id=_text(intent, "id"),
        client_secret=intent.get("client_secret") or "",
        status=intent["status"],
        customer=_id_of(intent.get("customer")),
        payment_method=_id_of(intent.get("payment_method")),
        reservation_id=_metadata_int(intent.get("metadata"), "reservation_id"),
        last_error=last_error.get("message"),
    )


def _payment_intent_info(intent: dict[str, Any]) -> PaymentIntentInfo:
    last_error = intent.get("last_payment_error") or {}
    metadata = intent.get("metadata")
    return PaymentIntentInfo(
        id=_text(intent, "id"),
        status=intent["status"],
        client_secret=intent.get("client_secret") or "",
        amount=intent.get("amount") or 0,
        currency=intent.get("currency") or "",
        customer=_id_of(intent.get("customer")),
        payment_method=_id_of(intent.get("payment_method")),
        charge_id=_metadata_int(metadata, "charge_id"),
        attempt=_metadata_int(metadata, "attempt"),
        failure_code=last_error.get("code"),
        failure_message=last_error.get("message"),
    )


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"{exc.args[0]} is missing"
    if isinstance(exc, ValueError):
        return "not JSON"
    return str(exc)


def _message(exc: stripe.StripeError) -> str:
    return exc.user_message or str(exc)


def _is_missing(exc: stripe.InvalidRequestError) -> bool:
    # Stripe answers "No such ..." with code resource_missing; localstripe with a bare 404.
    return exc.code == "resource_missing" or exc.http_status == 404


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
        params = {
            "amount": amount_cents,
            "currency": currency,
            "customer": customer_id,
            "payment_method": payment_method_id,
            # Card only: with Stripe's automatic payment methods a confirm without a
            # return_url is refused in case a redirecting method were chosen.
            "payment_method_types": ["card"],
            "off_session": True,
            "confirm": True,
            "metadata": metadata,
        }
        try:
            with _calling_stripe():
                intent = self._client.v1.payment_intents.create(
                    params=params, options={"idempotency_key": idempotency_key}
                )
        except stripe.CardError as exc:
            return self._refused_payment(exc)
        except stripe.InvalidRequestError as exc:
            raise SavedCardUnavailable(_message(exc), code=exc.code or "") from exc
        return _payment_intent_info(intent.to_dict())

    def _refused_payment(self, exc: stripe.CardError) -> PaymentIntentInfo:
        """The PaymentIntent a declined (or authentication-needing) payment left behind."""
        error = exc.error
        intent = error.payment_intent if error else None
        if intent is None and error is not None and error.charge:
            # Stripe puts the PaymentIntent in the error; localstripe names only the failed
            # charge, which names its PaymentIntent.
            with _calling_stripe():
                charge = self._client.v1.charges.retrieve(
                    error.charge, params={"expand": ["payment_intent"]}
                )
            intent = charge.payment_intent
        if intent is None:
            raise exc
        info = _payment_intent_info(intent.to_dict())
        return dataclasses.replace(
            info,
            failure_code=exc.code or info.failure_code,
            failure_message=_message(exc) or info.failure_message,
        )

    def create_payment_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> PaymentIntentInfo:
        params = {
            "amount": amount_cents,
            "currency": currency,
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        with _calling_stripe():
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return _payment_intent_info(intent.to_dict())

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        try:
            with _calling_stripe():
                intent = self._client.v1.payment_intents.retrieve(payment_intent_id)
        except stripe.InvalidRequestError as exc:
            if _is_missing(exc):
                raise PaymentIntentNotFound(payment_intent_id) from exc
            raise
        return _payment_intent_info(intent.to_dict())

    def cancel_payment_intent(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> PaymentIntentInfo:
        try:
            with _calling_stripe():
                intent = self._client.v1.payment_intents.cancel(
                    payment_intent_id, options={"idempotency_key": idempotency_key}
                )
        except stripe.InvalidRequestError as exc:
            # Stripe codes this payment_intent_unexpected_state; localstripe sends no code. Either
            # way Stripe's current word decides: already cancelled is as good as cancelled.
            current = self.retrieve_payment_intent(payment_intent_id)
            if current.status == CANCELED:
                return current
            raise UnexpectedPaymentIntentState(current.status) from exc
        return _payment_intent_info(intent.to_dict())

    def find_payment_intent(
        self, *, customer_id: str, charge_id: int, attempt: int, created_after: datetime
    ) -> PaymentIntentInfo | None:
        # Through the customer's charges, each expanded to its PaymentIntent: Stripe and
        # localstripe both list charges by customer and creation time, while localstripe lists
        # PaymentIntents unfiltered only. A PaymentIntent that moved or tried to move money has
        # a charge; one only awaiting authentication has none, and took nothing.
        params = {
            "customer": customer_id,
            "created": {"gt": int(created_after.timestamp())},
            "limit": 100,
            "expand": ["data.payment_intent"],
        }
        try:
            with _calling_stripe():
                for charge in self._client.v1.charges.list(params=params).auto_paging_iter():
                    intent = charge.payment_intent
                    if not isinstance(intent, stripe.PaymentIntent):
                        continue
                    info = _payment_intent_info(intent.to_dict())
                    if info.charge_id == charge_id and info.attempt == attempt:
                        return info
        except stripe.InvalidRequestError as exc:
            if not _is_missing(exc):
                raise
            # The customer is gone, so it has no payments to find; sending the charge again
            # will say so.
        return None

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
            kind = event_object.get("object")
            return WebhookEventInfo(
                id=_text(event, "id"),
                type=_text(event, "type"),
                setup_intent=_setup_intent_info(event_object) if kind == "setup_intent" else None,
                payment_intent=(
                    _payment_intent_info(event_object) if kind == "payment_intent" else None
                ),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidWebhook(f"The body is not a Stripe event ({_problem(exc)}).") from exc
