"""Payment gateways: Stripe, or the built-in sandbox, as settings.PAYMENT_GATEWAY names."""

import functools

from django.conf import settings

from payments.gateways.base import (
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
    InvalidWebhook,
    PaymentGateway,
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
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.stripe_gateway import StripeGateway

__all__ = [
    "CANCELED",
    "PAYMENT_INTENT_PAYMENT_FAILED",
    "PAYMENT_INTENT_SUCCEEDED",
    "PROCESSING",
    "REQUIRES_ACTION",
    "REQUIRES_CONFIRMATION",
    "REQUIRES_PAYMENT_METHOD",
    "SETUP_INTENT_SUCCEEDED",
    "SUCCEEDED",
    "CardDetails",
    "InvalidWebhook",
    "PaymentGateway",
    "PaymentGatewayUnavailable",
    "PaymentIntentInfo",
    "PaymentIntentNotFound",
    "SandboxGateway",
    "SavedCardUnavailable",
    "SetupIntentInfo",
    "SetupIntentNotFound",
    "StripeGateway",
    "UnexpectedPaymentIntentState",
    "UnexpectedSetupIntentState",
    "WebhookEventInfo",
    "WebhooksNotConfigured",
    "get_gateway",
]


def get_gateway() -> PaymentGateway:
    """The gateway the current settings call for (read on every call, so a change of settings,
    as in tests, takes effect at once)."""
    if settings.PAYMENT_GATEWAY == "sandbox":
        return SandboxGateway()
    return _stripe_gateway(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_API_BASE
    )


@functools.lru_cache(maxsize=4)
def _stripe_gateway(secret_key: str, webhook_secret: str, api_base: str) -> StripeGateway:
    # One client per configuration, so its HTTP connections are reused between requests.
    return StripeGateway(secret_key=secret_key, webhook_secret=webhook_secret, api_base=api_base)
