from rest_framework import serializers

from reservations.models import Reservation
from securemyspot.fields import AwareDateTimeField


class ReservationSerializer(serializers.ModelSerializer):
    parking_spot = serializers.IntegerField(source="spot_id", read_only=True)
    rate = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, help_text="USD per hour, at booking."
    )
    paid = serializers.BooleanField(read_only=True, help_text="The card is set up.")
    status = serializers.ChoiceField(choices=Reservation.Status.choices, read_only=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "user",
            "email",
            "parking_spot",
            "rate",
            "start_time",
            "end_time",
            "paid",
            "stripe_setup_intent_id",
            "status",
            "hold_expires_at",
            "currency",
            "amount_cents",
            "fee_waived",
            "card_brand",
            "card_last4",
        ]
        read_only_fields = fields


class NewReservationSerializer(serializers.Serializer):
    reservation_length = serializers.IntegerField(
        help_text="Minutes, a number or a numeric string."
    )
    start_time = AwareDateTimeField(
        required=False, help_text="Book ahead: when it starts (default now), at most 7 days on."
    )
    email = serializers.EmailField(
        required=False, help_text="Ignored for a signed-in user: their account's email is used."
    )


class NewGuestReservationSerializer(NewReservationSerializer):
    email = serializers.EmailField(help_text="The guest's email; it must belong to no account.")


class ReservationChangeSerializer(serializers.Serializer):
    end_time = AwareDateTimeField(
        help_text="New end: now (or earlier) ends it now; later extends it into free time."
    )


class ReservationEnvelopeSerializer(serializers.Serializer):
    """Documents the request envelope ``{"reservation": {...}}``."""

    reservation = NewGuestReservationSerializer()


class QuoteSerializer(serializers.Serializer):
    parking_spot = serializers.IntegerField()
    minutes = serializers.IntegerField()
    rate = serializers.DecimalField(max_digits=6, decimal_places=2)
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    fee_waived = serializers.BooleanField(help_text="Under the 50-cent minimum: not charged.")


class QuoteParamsSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(help_text="Length of the reservation in minutes.")
