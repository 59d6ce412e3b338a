from payments import api, views
from securemyspot.api import EMAIL_SEGMENT as EMAIL
from securemyspot.api import route

ID = r"(?P<reservation_id>[0-9]{1,16})"
SETUP_INTENT = r"(?P<setup_intent_id>[A-Za-z0-9_]{1,64})"
# django.core.signing's URL-safe base64 parts, joined by colons.
PAY_TOKEN = r"(?P<token>[A-Za-z0-9_:\-]{1,200})"

urlpatterns = [
    route(
        f"create-payment-intent-auth/{ID}",
        api.UserCardSetupView.as_view(),
        name="create-payment-intent",
    ),
    route(
        f"create-payment-intent-unauth/{ID}/{EMAIL}",
        api.GuestCardSetupView.as_view(),
        name="create-payment-intent-guest",
    ),
    route(
        f"confirm-successful-setup-intent-auth/{ID}",
        api.UserCardSetupConfirmView.as_view(),
        name="confirm-setup-intent",
    ),
    route(
        f"confirm-successful-setup-intent-unauth/{ID}/{EMAIL}",
        api.GuestCardSetupConfirmView.as_view(),
        name="confirm-setup-intent-guest",
    ),
    # The link in the Payment Failed email: a page, and the JSON routes its script calls.
    route(f"pay/{PAY_TOKEN}", views.pay_for_reservation, name="pay-reservation"),
    route(f"retry-payment/{PAY_TOKEN}", api.PaymentRecoveryView.as_view(), name="retry-payment"),
    route(
        f"confirm-payment/{PAY_TOKEN}",
        api.PaymentRecoveryConfirmView.as_view(),
        name="confirm-payment",
    ),
    route("webhooks/stripe", api.StripeWebhookView.as_view(), name="stripe-webhook"),
    # Answers 404 unless the sandbox gateway is in use (PAYMENT_GATEWAY=sandbox).
    route(
        f"sandbox/setup-intents/{SETUP_INTENT}/confirm",
        api.SandboxCardView.as_view(),
        name="sandbox-confirm-setup-intent",
    ),
]
