"""The booking routes render and validate without building serializers per request; what they
answer must stay what the documented serializers say."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from accounts.tests.factories import UserFactory
from reservations.models import Reservation
from reservations.serializers import (
    NewGuestReservationSerializer,
    NewReservationSerializer,
    ReservationChangeSerializer,
    ReservationSerializer,
    reservation_json,
    validated_data,
)
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"confirmed": True},
        {"status": Reservation.Status.ENDED, "amount_cents": 37, "fee_waived": True},
        {"rate": "12.5"},
        {"status": Reservation.Status.PAYMENT_FAILED, "amount_cents": 812},
    ],
)
def test_the_json_is_what_the_documented_serializer_renders(fields):
    reservation = ReservationFactory(user=UserFactory(), **fields)

    for shown in (reservation, Reservation.objects.get(pk=reservation.pk)):
        assert reservation_json(shown) == dict(ReservationSerializer(shown).data)


def test_times_are_utc_with_z_whatever_zone_they_were_given_in():
    start = timezone.now().astimezone(timezone.get_fixed_timezone(-300))
    reservation = ReservationFactory(start_time=start, end_time=start + timedelta(hours=1))

    body = reservation_json(reservation)

    assert body["start_time"].endswith("Z")
    assert body["start_time"] == ReservationSerializer(reservation).data["start_time"]


BODIES = [
    {"reservation_length": 30},
    {"reservation_length": "45", "email": "Guest@Example.com"},
    {"reservation_length": 30.0},
    {"reservation_length": 12.5},
    {"reservation_length": True},
    {"reservation_length": None},
    {"reservation_length": ""},
    {"reservation_length": [30]},
    {"reservation_length": "9" * 1001},
    {},
    {"email": "not-an-email", "reservation_length": "x"},
    {"reservation_length": 30, "start_time": "2026-11-24T18:30:00.000Z"},
    {"reservation_length": 30, "start_time": "2026-11-24T18:30:00"},
    {"reservation_length": 30, "start_time": 12345},
    {"end_time": "2026-11-24T18:30:00.000Z"},
    {"end_time": "2026-11-24T18:30:00-05:00"},
    {"end_time": "tomorrow"},
    {"end_time": None},
]


@pytest.mark.parametrize(
    "serializer_class",
    [NewReservationSerializer, NewGuestReservationSerializer, ReservationChangeSerializer],
)
@pytest.mark.parametrize("body", BODIES)
def test_validation_answers_as_the_serializer_does(serializer_class, body):
    serializer = serializer_class(data=body)

    if serializer.is_valid():
        assert validated_data(serializer_class, body) == dict(serializer.validated_data)
    else:
        with pytest.raises(serializers.ValidationError) as refused:
            validated_data(serializer_class, body)
        assert refused.value.detail == serializer.errors
