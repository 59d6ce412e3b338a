"""What the payments app needs from a payment processor, as plain data.

Services talk to a ``PaymentGateway``; neither they nor the views see an SDK object, so the
Stripe gateway and the sandbox are interchangeable.
"""

from dataclasses import dataclass
from typing import Protocol

from securemyspot.errors import Conflict, DomainError, ServiceUnavailable

SUCCEEDED = "succeeded"
CANCELED = "canceled"
SETUP_INTENT_SUCCEEDED = "setup_intent.succeeded"


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
class WebhookEventInfo:
    id: str
    type: str
    setup_intent: SetupIntentInfo | None  # the event's object, when it is a SetupIntent


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

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookEventInfo:
        """The event, once its signature over the raw body is verified; raises InvalidWebhook
        otherwise, WebhooksNotConfigured if this gateway takes none."""
        ...
