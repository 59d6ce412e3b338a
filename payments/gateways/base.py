"""What the payments app needs from a payment processor, as plain data.

Services talk to a ``PaymentGateway``; neither they nor the views see an SDK object, so the
Stripe gateway and the sandbox are interchangeable.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from securemyspot.errors import Conflict, DomainError, ServiceUnavailable

SUCCEEDED = "succeeded"
CANCELED = "canceled"
PROCESSING = "processing"
REQUIRES_ACTION = "requires_action"
REQUIRES_PAYMENT_METHOD = "requires_payment_method"
REQUIRES_CONFIRMATION = "requires_confirmation"
SETUP_INTENT_SUCCEEDED = "setup_intent.succeeded"
PAYMENT_INTENT_SUCCEEDED = "payment_intent.succeeded"
PAYMENT_INTENT_PAYMENT_FAILED = "payment_intent.payment_failed"
# Stripe's code when an off-session payment needs the cardholder to authenticate it.
AUTHENTICATION_REQUIRED = "authentication_required"


@dataclass(frozen=True)
class SetupIntentInfo:
    id: str
    client_secret: str
    status: str
    customer: str | None
    payment_method: str | None
    reservation_id: int | None  # from the SetupIntent's metadata
    last_error: str | None  # why the last card was refused, if it was


@dataclass(frozen=True)
class CardDetails:
    payment_method_id: str
    brand: str
    last4: str


@dataclass(frozen=True)
class PaymentIntentInfo:
    id: str
    status: str
    client_secret: str
    amount: int
    currency: str
    customer: str | None
    payment_method: str | None
    charge_id: int | None  # from the PaymentIntent's metadata
    attempt: int | None  # from the PaymentIntent's metadata
    failure_code: str | None  # why the last payment attempt failed, if it did
    failure_message: str | None

    @property
    def needs_authentication(self) -> bool:
        """Stripe answers an off-session payment that needs 3-D Secure with a failure coded
        ``authentication_required``; a PaymentIntent confirmed on-session waits in
        ``requires_action`` instead (so does localstripe's, off-session too)."""
        return self.status == REQUIRES_ACTION or self.failure_code == AUTHENTICATION_REQUIRED


@dataclass(frozen=True)
class WebhookEventInfo:
    id: str
    type: str
    setup_intent: SetupIntentInfo | None  # the event's object, when it is a SetupIntent
    payment_intent: PaymentIntentInfo | None = None  # ... or when it is a PaymentIntent


class PaymentGatewayUnavailable(ServiceUnavailable):
    """The processor could not be reached or asked us to come back later; the request changed
    nothing and may be repeated."""

    def __init__(self) -> None:
        super().__init__(
            "The payment service cannot be reached right now. Nothing was changed; "
            "please try again shortly."
        )


class SetupIntentNotFound(Exception):
    """The processor has no SetupIntent with that id (e.g. it was made with other keys)."""


class UnexpectedSetupIntentState(Conflict):
    """The SetupIntent is in a state that does not allow the request (confirming a succeeded
    one, cancelling one that has just succeeded)."""

    def __init__(self, status: str) -> None:
        super().__init__(
            f"The card setup cannot do that now: it is {status}.", setup_intent_status=status
        )


class PaymentIntentNotFound(Exception):
    """The processor has no PaymentIntent with that id."""


class UnexpectedPaymentIntentState(Conflict):
    """The PaymentIntent cannot do that now (cancelling one that has just succeeded)."""

    def __init__(self, status: str) -> None:
        super().__init__(
            f"The payment cannot do that now: it is {status}.", payment_intent_status=status
        )


class SavedCardUnavailable(Exception):
    """The processor refuses to charge the saved card for a reason no retry changes: the
    customer or the card no longer exists there (or the request names something it does not
    know). Operators should look; the driver can still pay with a card in the browser."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidWebhook(DomainError):
    """Not a genuine, well-formed event from the processor: refused with a 400."""

    field = "webhook"


class WebhooksNotConfigured(Exception):
    """This server takes no webhooks: it runs the sandbox, or has no signing secret."""


class PaymentGateway(Protocol):
    def create_customer(self, *, email: str, idempotency_key: str) -> str:
        """A new customer for the email; returns its id."""
        ...

    def create_setup_intent(
        self, *, customer_id: str, reservation_id: int, idempotency_key: str
    ) -> SetupIntentInfo:
        """A SetupIntent saving a card of the customer for off-session charges later."""
        ...

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentInfo: ...

    def cancel_setup_intent(self, setup_intent_id: str, *, idempotency_key: str) -> SetupIntentInfo:
        """Raises UnexpectedSetupIntentState if it can no longer be cancelled (it succeeded)."""
        ...

    def retrieve_card(self, payment_method_id: str) -> CardDetails: ...

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
        """Charge a saved card with the driver absent: a PaymentIntent created and confirmed at
        once. A declined card or one needing authentication is not an exception: the returned
        PaymentIntent says so (``failure_code``, ``needs_authentication``). Raises
        SavedCardUnavailable when the customer or card is gone."""
        ...

    def create_payment_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> PaymentIntentInfo:
        """A PaymentIntent for the driver to confirm in the browser (Stripe.js) with a card
        typed in. It names no customer: the saved card failed, and the customer may be gone."""
        ...

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        """Raises PaymentIntentNotFound."""
        ...

    def cancel_payment_intent(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> PaymentIntentInfo:
        """Raises UnexpectedPaymentIntentState if it can no longer be cancelled (it succeeded
        or is processing)."""
        ...

    def find_payment_intent(
        self, *, customer_id: str, charge_id: int, attempt: int, created_after: datetime
    ) -> PaymentIntentInfo | None:
        """The PaymentIntent of this charge attempt that tried to take the customer's money, if
        Stripe made one: for an attempt sent before whose answer was never recorded."""
        ...

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookEventInfo:
        """The event, once its signature over the raw body is verified; raises InvalidWebhook
        otherwise, WebhooksNotConfigured if this gateway takes none."""
        ...
