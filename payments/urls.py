from payments import api
from securemyspot.api import route

ID = r"(?P<reservation_id>[0-9]{1,16})"
EMAIL = r"(?P<email>[^/]+)"
SETUP_INTENT = r"(?P<setup_intent_id>[A-Za-z0-9_]{1,64})"

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
    route("webhooks/stripe", api.StripeWebhookView.as_view(), name="stripe-webhook"),
    # Answers 404 unless the sandbox gateway is in use (no Stripe key set).
    route(
        f"sandbox/setup-intents/{SETUP_INTENT}/confirm",
        api.SandboxCardView.as_view(),
        name="sandbox-confirm-setup-intent",
    ),
]
