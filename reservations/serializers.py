import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import SkipField

from reservations.links import pay_url
from reservations.models import Reservation
from securemyspot.fields import AwareDateTimeField


def reservation_json(reservation: Reservation) -> dict:
    """The contract's reservation JSON, as ``ReservationSerializer`` documents it. A plain
    function: a ModelSerializer builds its fields anew for every response, which was about a
    quarter of a booking's CPU in the view."""
    body = {
        "id": reservation.pk,
        "user": reservation.user_id,
        "email": reservation.email,
        "parking_spot": reservation.spot_id,
        "rate": _money(reservation.rate),
        "start_time": utc_iso(reservation.start_time),
        "end_time": utc_iso(reservation.end_time),
        "paid": reservation.paid,
        "stripe_setup_intent_id": reservation.stripe_setup_intent_id,
        "status": str(reservation.status),
        "hold_expires_at": utc_iso(reservation.hold_expires_at),
        "currency": reservation.currency,
        "amount_cents": reservation.amount_cents,
        "fee_waived": reservation.fee_waived,
        "card_brand": reservation.card_brand,
        "card_last4": reservation.card_last4,
    }
    if reservation.status == Reservation.Status.PAYMENT_FAILED:
        # Issue 9 (8): the driver's way to pay what the charge at the end could not take.
        body["payment_recovery_url"] = pay_url(reservation.pk)
    return body


def _money(amount: Decimal | str) -> str:
    return f"{Decimal(amount):.2f}"


def utc_iso(instant: datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def validated_data(serializer_class: type[serializers.Serializer], data: Mapping) -> dict:
    """What ``serializer_class(data=data).is_valid(raise_exception=True)`` validates, for a
    serializer of plain fields (no nesting, no ``validate`` methods), raising the same
    ValidationError. One set of its fields serves every request: a new serializer deep-copies
    its fields, which costs several times what validating the values does."""
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, field in _fields_of(serializer_class).items():
        try:
            values[name] = field.run_validation(field.get_value(data))
        except SkipField:
            continue
        except serializers.ValidationError as error:
            errors[name] = error.detail
    if errors:
        raise serializers.ValidationError(errors)
    return values


@functools.cache
def _fields_of(serializer_class: type[serializers.Serializer]) -> Mapping[str, serializers.Field]:
    return serializer_class().fields


class PaymentRecoveryUrlField(serializers.URLField):
    """``payment_recovery_url``, present only while the payment failed. Not read-only, so that
    the schema lists it as optional (drf-spectacular requires every read-only field)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def get_attribute(self, instance: Reservation) -> str:
        if instance.status != Reservation.Status.PAYMENT_FAILED:
            raise SkipField
        return pay_url(instance.pk)


class ReservationSerializer(serializers.ModelSerializer):
    """Documents the reservation JSON in the OpenAPI schema; ``reservation_json`` renders it."""

    parking_spot = serializers.IntegerField(source="spot_id", read_only=True)
    rate = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, help_text="USD per hour, at booking."
    )
    paid = serializers.BooleanField(read_only=True, help_text="The card is set up.")
    status = serializers.ChoiceField(choices=Reservation.Status.choices, read_only=True)
    payment_recovery_url = PaymentRecoveryUrlField(
        help_text="Only while the status is payment_failed: the page where the driver pays "
        "what the charge at the end could not take (the Payment Failed email's link).",
    )

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
            "payment_recovery_url",
        ]
        read_only_fields = fields


def minutes_field(help_text: str) -> serializers.IntegerField:
    """A reservation's length in whole minutes, within the limits the booking rules apply:
    bounded here so that a huge number is a 400 naming the field, not an overflow, and so that
    the schema states the limits."""
    return serializers.IntegerField(
        min_value=settings.RESERVATION_MIN_MINUTES,
        max_value=settings.RESERVATION_MAX_MINUTES,
        help_text=help_text,
        error_messages={
            "min_value": "A reservation lasts at least {min_value} minute(s).",
            "max_value": "A reservation lasts at most {max_value} minutes.",
        },
    )


GUEST_EMAIL_MAX_LENGTH = 254  # RFC 5321's limit, and the column's


class NewReservationSerializer(serializers.Serializer):
    reservation_length = minutes_field("Minutes, a number or a numeric string.")
    start_time = AwareDateTimeField(
        required=False, help_text="Book ahead: when it starts (default now), at most 7 days on."
    )
    email = serializers.EmailField(
        required=False,
        max_length=GUEST_EMAIL_MAX_LENGTH,
        help_text="Ignored for a signed-in user: their account's email is used.",
    )


class NewGuestReservationSerializer(NewReservationSerializer):
    email = serializers.EmailField(
        max_length=GUEST_EMAIL_MAX_LENGTH,
        help_text="The guest's email; it must belong to no account.",
    )


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
    lat = serializers.DecimalField(
        max_digits=9, decimal_places=6, help_text="The spot's latitude, to place it on a map."
    )
    lng = serializers.DecimalField(
        max_digits=9, decimal_places=6, help_text="The spot's longitude."
    )


class QuoteParamsSerializer(serializers.Serializer):
    minutes = minutes_field("Length of the reservation in minutes.")
