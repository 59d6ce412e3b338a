from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from reservations.pricing import billable_minutes, fee_for_minutes, fee_for_period
from reservations.tests.factories import ReservationFactory
from spots.tests.factories import ParkingSpotFactory

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("rate", "minutes", "cents"),
    [
        ("6.00", 60, 600),
        ("6.00", 1, 10),
        ("5.00", 7, 58),  # 58.33
        ("4.50", 1, 8),  # 7.5 rounds half up
        ("1.00", 90, 150),
        ("7.75", 1440, 18600),
    ],
)
def test_fee_is_the_per_minute_share_of_the_hourly_rate_rounded_half_up(rate, minutes, cents):
    assert fee_for_minutes(Decimal(rate), minutes).amount_cents == cents


def test_a_started_minute_is_billed_in_full():
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    assert billable_minutes(start, start + timedelta(minutes=10, seconds=1)) == 11
    assert billable_minutes(start, start + timedelta(minutes=10)) == 10


def test_a_fee_under_50_cents_is_waived():
    assert fee_for_minutes(Decimal("6.00"), 4).waived  # 40 cents
    assert not fee_for_minutes(Decimal("6.00"), 5).waived  # 50 cents
    assert fee_for_minutes(Decimal("6.00"), 4).chargeable_cents == 0


def test_the_night_clocks_fall_back_is_billed_for_the_real_minutes():
    # 2026-11-01 01:00 EDT to 03:00 EST is three real hours (01:00-02:00 happens twice).
    start = datetime(2026, 11, 1, 1, 0, tzinfo=NEW_YORK)
    end = datetime(2026, 11, 1, 3, 0, tzinfo=NEW_YORK)

    fee = fee_for_period(Decimal("4.00"), start, end)

    assert fee.minutes == 180
    assert fee.amount_cents == 1200


def test_the_night_clocks_spring_forward_is_billed_for_the_real_minutes():
    # 2026-03-08 01:00 EST to 03:00 EDT is one real hour.
    start = datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK)
    end = datetime(2026, 3, 8, 3, 0, tzinfo=NEW_YORK)

    assert fee_for_period(Decimal("4.00"), start, end).minutes == 60


@pytest.mark.django_db
def test_quote_prices_a_spot_before_booking(api_client):
    spot = ParkingSpotFactory(rate="5.00", lat="40.754900", lng="-73.984000")

    response = api_client.get(f"/quote/{spot.id}/", {"minutes": "7"})

    assert response.status_code == 200
    assert response.json() == {
        "parking_spot": spot.id,
        "minutes": 7,
        "rate": "5.00",
        "amount_cents": 58,
        "currency": "usd",
        "fee_waived": False,
        "lat": "40.754900",
        "lng": "-73.984000",
    }


@pytest.mark.django_db
def test_quote_says_when_a_fee_is_waived(api_client):
    spot = ParkingSpotFactory(rate="1.00")

    assert api_client.get(f"/quote/{spot.id}", {"minutes": "20"}).json()["fee_waived"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("minutes", ["0", "1441", "x", ""])
def test_quote_refuses_a_bad_length_naming_minutes(api_client, minutes):
    spot = ParkingSpotFactory()

    response = api_client.get(f"/quote/{spot.id}/", {"minutes": minutes})

    assert response.status_code == 400
    assert list(response.json()) == ["minutes"]


@pytest.mark.django_db
def test_quote_of_an_unknown_spot_is_404(api_client):
    assert api_client.get("/quote/424242/", {"minutes": "10"}).status_code == 404


@pytest.mark.django_db
def test_a_reservation_keeps_its_booking_rate_when_the_spot_rate_changes():
    spot = ParkingSpotFactory(rate="3.00")
    reservation = ReservationFactory(spot=spot, start_time=timezone.now())
    spot.rate = Decimal("8.00")
    spot.save()

    reservation.refresh_from_db()
    assert reservation.rate == Decimal("3.00")
