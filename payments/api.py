"""HTTP adapters for paying for a reservation: card setup, its confirmation, paying a failed
charge from the emailed link, Stripe's webhook and the sandbox's card step."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import links
from payments.gateways import WebhooksNotConfigured
from payments.serializers import (
    CardDeclinedSerializer,
    ClientSecretSerializer,
    PaymentConflictSerializer,
    PaymentIntentSecretSerializer,
    RecoveryConflictSerializer,
    SandboxSetupCardSerializer,
    SandboxSetupIntentSerializer,
    WebhookReceivedSerializer,
)
from payments.services import card_setup, recovery, sandbox, webhooks
from reservations.selectors import reservation_of_guest, reservation_of_user

NOT_FOUND = OpenApiResponse(
    description='`{"detail": "Not found."}`: no such reservation of yours (or of this email).'
)
UNAUTHENTICATED = OpenApiResponse(description="Missing, invalid or expired token.")
STRIPE_UNREACHABLE = OpenApiResponse(
    description=(
        "Stripe could not be reached; nothing was changed. The `Retry-After` header says "
        "when to try again."
    )
)
RESERVATION_ID = OpenApiParameter(
    "reservation_id", int, OpenApiParameter.PATH, description="The reservation's id."
)
GUEST_PATH = [
    RESERVATION_ID,
    OpenApiParameter(
        "email", str, OpenApiParameter.PATH, description="The email booked with (any case)."
    ),
]
CREATE_RESPONSES = {
    201: OpenApiResponse(ClientSecretSerializer, description="The SetupIntent's client secret."),
    404: NOT_FOUND,
    409: OpenApiResponse(
        PaymentConflictSerializer,
        description="The reservation no longer awaits payment (`reservation_status`).",
    ),
    503: STRIPE_UNREACHABLE,
}
CONFIRM_RESPONSES = {
    204: OpenApiResponse(description="The reservation is confirmed (or already was)."),
    404: NOT_FOUND,
    409: OpenApiResponse(
        PaymentConflictSerializer,
        description=(
            "The card is not set up yet: `setup_intent_status` is Stripe's status, null if "
            "no SetupIntent was created. Or the reservation no longer awaits payment."
        ),
    ),
    503: STRIPE_UNREACHABLE,
}
CREATE_DESCRIPTION = (
    "Creates a Stripe SetupIntent (a card saved for an off-session charge when the "
    "reservation ends) and returns its client secret for Stripe.js `confirmCardSetup`. "
    "Calling again returns the same SetupIntent until it is cancelled; only then a new one. "
    "The card must be saved within the hold period, or the reservation is cancelled."
)
CONFIRM_DESCRIPTION = (
    "Asks Stripe whether the reservation's SetupIntent succeeded; if so stores the card, "
    "confirms the reservation and sends the confirmation email. Stripe's webhook and the "
    "hold sweep confirm it too, so calling this is optional."
)


def _client_secret(secret: str) -> Response:
    return Response({"clientSecret": secret}, status=status.HTTP_201_CREATED)


class SignedInView(APIView):
    permission_classes = [IsAuthenticated]


class GuestView(APIView):
    # Guests are known by reservation id and email; a token, if sent, plays no part.
    authentication_classes: list = []
    permission_classes = [AllowAny]


class UserCardSetupView(SignedInView):
    @extend_schema(
        tags=["payments"],
        operation_id="create_payment_intent_auth",
        summary="Start paying for your reservation",
        description=CREATE_DESCRIPTION,
        parameters=[RESERVATION_ID],
        request=None,
        responses={**CREATE_RESPONSES, 401: UNAUTHENTICATED},
    )
    def post(self, request: Request, reservation_id: str) -> Response:
        reservation = reservation_of_user(user=request.user, reservation_id=int(reservation_id))
        return _client_secret(card_setup.start_card_setup(reservation_id=reservation.pk))


class GuestCardSetupView(GuestView):
    @extend_schema(
        tags=["payments"],
        operation_id="create_payment_intent_unauth",
        summary="Start paying for a guest reservation",
        description=CREATE_DESCRIPTION,
        parameters=GUEST_PATH,
        request=None,
        responses=CREATE_RESPONSES,
    )
    def post(self, request: Request, reservation_id: str, email: str) -> Response:
        reservation = reservation_of_guest(email=email, reservation_id=int(reservation_id))
        return _client_secret(card_setup.start_card_setup(reservation_id=reservation.pk))


class UserCardSetupConfirmView(SignedInView):
    @extend_schema(
        tags=["payments"],
        operation_id="confirm_successful_setup_intent_auth",
        summary="Confirm your reservation once the card is saved",
        description=CONFIRM_DESCRIPTION,
        parameters=[RESERVATION_ID],
        responses={**CONFIRM_RESPONSES, 401: UNAUTHENTICATED},
    )
    def get(self, request: Request, reservation_id: str) -> Response:
        reservation = reservation_of_user(user=request.user, reservation_id=int(reservation_id))
        card_setup.confirm_card_setup(reservation_id=reservation.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GuestCardSetupConfirmView(GuestView):
    @extend_schema(
        tags=["payments"],
        operation_id="confirm_successful_setup_intent_unauth",
        summary="Confirm a guest reservation once the card is saved",
        description=CONFIRM_DESCRIPTION,
        parameters=GUEST_PATH,
        responses=CONFIRM_RESPONSES,
    )
    def get(self, request: Request, reservation_id: str, email: str) -> Response:
        reservation = reservation_of_guest(email=email, reservation_id=int(reservation_id))
        card_setup.confirm_card_setup(reservation_id=reservation.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


PAY_TOKEN = OpenApiParameter(
    "token",
    str,
    OpenApiParameter.PATH,
    description="From the link in the driver's Payment Failed email (`/pay/<token>/`).",
)
BAD_TOKEN = OpenApiResponse(
    description='`{"detail": "Not found."}`: the link is forged, altered or expired.'
)


class PaymentRecoveryView(GuestView):
    @extend_schema(
        tags=["payments"],
        operation_id="retry_payment",
        summary="Pay a failed charge in the browser",
        description=(
            "For the payment page behind the emailed link, after the saved card could not be "
            "charged (declined, or the bank asks the driver to authenticate). Returns the client "
            "secret of a PaymentIntent for the amount due, for Stripe.js `confirmCardPayment` "
            "with a card element (Stripe asks for 3-D Secure when the bank wants it). The "
            "failed PaymentIntent is cancelled and a new one (the next attempt) made once; "
            "later calls return that one again until it is paid. Then call `confirm-payment`."
        ),
        parameters=[PAY_TOKEN],
        request=None,
        responses={
            200: OpenApiResponse(PaymentIntentSecretSerializer, description="Pay with this."),
            404: BAD_TOKEN,
            409: OpenApiResponse(
                RecoveryConflictSerializer,
                description=(
                    "Nothing to pay: paid (`charge_status` `succeeded`), waived, or the saved "
                    "card is being charged; or another payment is being set up."
                ),
            ),
            503: STRIPE_UNREACHABLE,
        },
    )
    def post(self, request: Request, token: str) -> Response:
        intent = recovery.start_payment_recovery(reservation_id=links.reservation_id_from(token))
        return Response({"clientSecret": intent.client_secret})


class PaymentRecoveryConfirmView(GuestView):
    @extend_schema(
        tags=["payments"],
        operation_id="confirm_payment",
        summary="Record a payment made in the browser",
        description=(
            "Asks Stripe (never the caller) whether the reservation's current PaymentIntent "
            "succeeded; if so the reservation is paid and the driver gets the Reservation Has "
            "Ended email with what was charged. Calling again once paid answers 204 and "
            "changes nothing. Stripe's `payment_intent.succeeded` webhook does the same."
        ),
        parameters=[PAY_TOKEN],
        request=None,
        responses={
            204: OpenApiResponse(description="Paid."),
            404: BAD_TOKEN,
            409: OpenApiResponse(
                RecoveryConflictSerializer,
                description="Not paid yet: `payment_intent_status` is Stripe's status.",
            ),
            503: STRIPE_UNREACHABLE,
        },
    )
    def post(self, request: Request, token: str) -> Response:
        recovery.confirm_payment_recovery(reservation_id=links.reservation_id_from(token))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StripeWebhookView(APIView):
    # Stripe signs the body instead of authenticating; the body is read raw, unparsed, since
    # the signature covers its exact bytes.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["payments"],
        operation_id="stripe_webhook",
        summary="Stripe's events",
        description=(
            "For Stripe only, verified by the `Stripe-Signature` header. Each event is handled "
            "once (a redelivery is acknowledged with 200 and skipped); `setup_intent.succeeded` "
            "confirms its reservation; `payment_intent.succeeded` settles its reservation's "
            "charge (`payment_intent.payment_failed` records an off-session failure nobody "
            "recorded); other types are acknowledged and ignored. 404 when this server runs "
            "the payment sandbox."
        ),
        parameters=[
            OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True)
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(WebhookReceivedSerializer, description="Received."),
            400: OpenApiResponse(description="Missing or wrong signature, or not an event."),
            404: OpenApiResponse(description="No webhooks: the payment sandbox is in use."),
            503: OpenApiResponse(description="Stripe unreachable; Stripe will retry."),
        },
    )
    def post(self, request: Request) -> Response:
        if "Stripe-Signature" not in request.headers:
            raise ParseError("Missing Stripe-Signature header.")
        try:
            webhooks.handle_stripe_webhook(
                payload=request.body, signature=request.headers.get("Stripe-Signature", "")
            )
        except WebhooksNotConfigured as exc:
            raise NotFound(str(exc)) from None
        return Response({"received": True})


class SandboxCardView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["payments sandbox"],
        operation_id="sandbox_confirm_setup_intent",
        summary="Sandbox only: save a test card on a SetupIntent",
        description=(
            "Served only when no Stripe key is set: does what Stripe.js does in the browser, "
            "with one of Stripe's test cards, given the SetupIntent's client secret (the "
            "`clientSecret` create-payment-intent returned), as Stripe.js is. "
            "4242424242424242 succeeds (and confirms the "
            "reservation, as Stripe's webhook would), 4000000000000002 is declined (402; the "
            "SetupIntent awaits another card), 4000002760003184 requires authentication. "
            "See docs/payments.md."
        ),
        request=SandboxSetupCardSerializer,
        responses={
            200: OpenApiResponse(
                SandboxSetupIntentSerializer, description="The SetupIntent after the attempt."
            ),
            400: OpenApiResponse(
                description='`{"card_number": ["..."]}`: not a test card; '
                '`{"client_secret": ["..."]}`: missing.'
            ),
            402: OpenApiResponse(CardDeclinedSerializer, description="The card was declined."),
            404: OpenApiResponse(
                description="No such SetupIntent, or not with this client secret, or Stripe keys "
                "are set."
            ),
            409: OpenApiResponse(
                PaymentConflictSerializer,
                description="The SetupIntent already succeeded or was cancelled.",
            ),
        },
    )
    def post(self, request: Request, setup_intent_id: str) -> Response:
        card = SandboxSetupCardSerializer(data=request.data)
        card.is_valid(raise_exception=True)
        try:
            intent = sandbox.complete_sandbox_card_step(
                setup_intent_id=setup_intent_id,
                client_secret=card.validated_data["client_secret"],
                card_number=card.validated_data["card_number"],
            )
        except sandbox.SandboxDisabled:
            raise NotFound("The payment sandbox is off: Stripe keys are set.") from None
        return Response(SandboxSetupIntentSerializer(intent).data)
