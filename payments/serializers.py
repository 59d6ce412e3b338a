from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.gateways.sandbox import TEST_CARDS


@extend_schema_field({"type": "string", "enum": sorted(TEST_CARDS)})
class SandboxCardNumberField(serializers.CharField):
    """The schema lists the test cards the sandbox knows, which are all it accepts (typed
    with spaces or dashes too)."""


class ClientSecretSerializer(serializers.Serializer):
    # camelCase: the contract's key, which the browser client reads.
    clientSecret = serializers.CharField(
        help_text="The SetupIntent's client secret, for Stripe.js `confirmCardSetup`."
    )


class PaymentConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    reservation_status = serializers.CharField(
        required=False, help_text="When the reservation no longer awaits payment."
    )
    setup_intent_status = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Stripe's status of the SetupIntent; null when none was created yet.",
    )


class PaymentIntentSecretSerializer(serializers.Serializer):
    clientSecret = serializers.CharField(
        help_text="The PaymentIntent's client secret, for Stripe.js `confirmCardPayment`."
    )


class RecoveryConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    charge_status = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="`succeeded` (paid), `waived`, or `pending`/`retrying` (the saved card is "
        "being charged); null when no charge was made yet or another payment is being set up.",
    )
    payment_intent_status = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Stripe's status of the payment; null when none was started.",
    )


class WebhookReceivedSerializer(serializers.Serializer):
    received = serializers.BooleanField()


class SandboxCardSerializer(serializers.Serializer):
    card_number = SandboxCardNumberField(
        max_length=32, help_text="One of Stripe's test card numbers, e.g. 4242424242424242."
    )

    def validate_card_number(self, value: str) -> str:
        # Accept the number as people type it: "4242 4242 4242 4242".
        return "".join(value.replace("-", " ").split())


class SandboxSetupCardSerializer(SandboxCardSerializer):
    client_secret = serializers.CharField(
        max_length=128,
        help_text="The SetupIntent's client secret, as create-payment-intent returned it.",
    )


class SandboxSetupIntentSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    payment_method = serializers.CharField(allow_null=True)
    reservation_id = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)


class CardErrorSerializer(serializers.Serializer):
    type = serializers.CharField()
    code = serializers.CharField()
    decline_code = serializers.CharField()
    message = serializers.CharField()


class CardDeclinedSerializer(serializers.Serializer):
    error = CardErrorSerializer()
    setup_intent = serializers.DictField()
