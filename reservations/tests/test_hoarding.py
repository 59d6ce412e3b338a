"""Holding spots costs nothing until a hold lapses: how many unpaid holds one client may keep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reservations.api import GuestBookingThrottle
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_limits(settings, monkeypatch):
    settings.RESERVATION_UNPAID_HOLDS_PER_EMAIL = 3
    settings.RESERVATION_UNPAID_HOLDS_PER_ADDRESS = 10
    monkeypatch.setattr(GuestBookingThrottle, "rate", "1000/min", raising=False)


def book_as_guest(client, spot, email, **extra):
    return client.post(
        f"/reservation-unauth/{spot.id}/",
        {"reservation": {"email": email, "reservation_length": 60}},
        format="json",
        **extra,
    )


def test_a_hoarding_loop_from_one_address_holds_only_the_limit(api_client):
    spots = ParkingSpotFactory.create_batch(50)

    responses = [
        book_as_guest(api_client, spot, f"fresh{n}@example.com") for n, spot in enumerate(spots)
    ]

    assert [r.status_code for r in responses] == [201] * 10 + [429] * 40
    assert Reservation.objects.count() == 10
    refused = responses[-1]
    assert "this address" in refused.json()["detail"].lower()
    assert 14 * 60 < int(refused["Retry-After"]) <= 15 * 60


def test_one_email_holds_at_most_three_unpaid_spots_from_any_address(api_client):
    spots = ParkingSpotFactory.create_batch(4)

    statuses = [
        book_as_guest(api_client, spot, "Hoarder@example.com", REMOTE_ADDR=f"198.51.100.{n}")
        for n, spot in enumerate(spots)
    ]

    assert [r.status_code for r in statuses] == [201, 201, 201, 429]
    assert "this email" in statuses[-1].json()["detail"].lower()


def test_a_signed_in_driver_holds_at_most_three_unpaid_spots(driver_client):
    spots = ParkingSpotFactory.create_batch(4)

    statuses = [
        driver_client.post(
            f"/reservation-auth/{spot.id}/",
            {"reservation": {"reservation_length": 60}},
            format="json",
        ).status_code
        for spot in spots
    ]

    assert statuses == [201, 201, 201, 429]


def test_retry_after_counts_to_the_oldest_hold_lapsing(api_client, spot):
    now = timezone.now()
    for minutes in (2, 9, 14):
        ReservationFactory(
            email="guest@example.com", hold_expires_at=now + timedelta(minutes=minutes)
        )

    response = book_as_guest(api_client, spot, "guest@example.com")

    assert response.status_code == 429
    assert 60 < int(response["Retry-After"]) <= 120
    assert response.json()["retry_after_seconds"] == int(response["Retry-After"])


@pytest.mark.parametrize(
    "lapsed",
    [
        {"hold_expires_at": timezone.now() - timedelta(seconds=1)},
        {"confirmed": True},
        {"status": Reservation.Status.CANCELLED, "hold_expires_at": None},
    ],
    ids=["hold-lapsed", "paid", "cancelled"],
)
def test_only_unpaid_live_holds_count(api_client, spot, lapsed):
    ReservationFactory.create_batch(3, email="guest@example.com", **lapsed)

    assert book_as_guest(api_client, spot, "guest@example.com").status_code == 201


def test_a_limit_of_zero_turns_the_limits_off(api_client, settings):
    settings.RESERVATION_UNPAID_HOLDS_PER_EMAIL = 0
    settings.RESERVATION_UNPAID_HOLDS_PER_ADDRESS = 0
    spots = ParkingSpotFactory.create_batch(12)

    statuses = {book_as_guest(api_client, spot, "guest@example.com").status_code for spot in spots}

    assert statuses == {201}


def test_guest_booking_is_throttled_per_address(api_client, monkeypatch):
    monkeypatch.setattr(GuestBookingThrottle, "rate", "2/min", raising=False)
    spots = ParkingSpotFactory.create_batch(3)
    for n, spot in enumerate(spots[:2]):
        book_as_guest(api_client, spot, f"g{n}@example.com")

    refused = book_as_guest(api_client, spots[2], "g2@example.com")
    elsewhere = book_as_guest(api_client, spots[2], "g3@example.com", REMOTE_ADDR="203.0.113.7")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert elsewhere.status_code == 201


def test_the_throttle_answers_before_the_spot_or_email_is_looked_at(api_client, monkeypatch):
    monkeypatch.setattr(GuestBookingThrottle, "rate", "1/min", raising=False)
    book_as_guest(api_client, ParkingSpotFactory(active=False), "probe@example.com")

    response = book_as_guest(api_client, ParkingSpotFactory(), "member@example.com")

    assert response.status_code == 429
