from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.tests.factories import UserFactory
from reservations import services
from reservations.errors import SpotUnavailable
from reservations.models import MAX_RESERVATION_ID, Reservation
from reservations.tests.factories import ReservationFactory
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db


def reserve(client, spot_id, **fields):
    return client.post(f"/reservation-auth/{spot_id}/", {"reservation": fields}, format="json")


def reserve_as_guest(client, spot_id, **fields):
    return client.post(f"/reservation-unauth/{spot_id}/", {"reservation": fields}, format="json")


def test_signed_in_driver_reserves_a_spot_from_now(driver_client, driver, spot):
    before = timezone.now()

    response = reserve(driver_client, spot.id, reservation_length=90)

    assert response.status_code == 201
    body = response.json()
    start, end = parse_datetime(body["start_time"]), parse_datetime(body["end_time"])
    assert before <= start <= timezone.now()
    assert end - start == timedelta(minutes=90)
    assert body["start_time"].endswith("Z")
    assert body | {"id": None, "start_time": None, "end_time": None, "hold_expires_at": None} == {
        "id": None,
        "user": driver.id,
        "email": "driver@example.com",
        "parking_spot": spot.id,
        "rate": "6.00",
        "start_time": None,
        "end_time": None,
        "paid": False,
        "stripe_setup_intent_id": None,
        "status": "pending_payment",
        "hold_expires_at": None,
        "currency": "usd",
        "amount_cents": None,
        "fee_waived": False,
        "card_brand": "",
        "card_last4": "",
    }


def test_reservation_ids_are_random_and_javascript_safe(driver_client):
    spots = ParkingSpotFactory.create_batch(3)

    ids = [reserve(driver_client, s.id, reservation_length=30).json()["id"] for s in spots]

    assert all(0 < i <= MAX_RESERVATION_ID for i in ids)
    assert sorted(ids) != [ids[0], ids[0] + 1, ids[0] + 2]


def test_the_rate_is_copied_at_booking(driver_client, spot):
    reservation_id = reserve(driver_client, spot.id, reservation_length=30).json()["id"]

    spot.rate = "9.00"
    spot.save()

    assert str(Reservation.objects.get(pk=reservation_id).rate) == "6.00"


def test_length_may_be_a_numeric_string(driver_client, spot):
    response = reserve(driver_client, spot.id, reservation_length="45")

    assert response.status_code == 201


def test_a_signed_in_driver_books_with_the_account_email_whatever_the_body_says(
    driver_client, spot
):
    response = reserve(driver_client, spot.id, reservation_length=30, email="other@example.com")

    assert response.json()["email"] == "driver@example.com"


def test_guest_reserves_with_an_email(api_client, spot):
    response = reserve_as_guest(
        api_client, spot.id, email="Guest@Example.com", reservation_length=30
    )

    assert response.status_code == 201
    assert response.json()["user"] is None
    assert response.json()["email"] == "guest@example.com"


def test_guest_cannot_use_the_email_of_an_account(api_client, spot):
    UserFactory(email="member@example.com")

    response = reserve_as_guest(
        api_client, spot.id, email="MEMBER@example.com", reservation_length=30
    )

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_a_taken_spot_is_refused_on_parking_spot(driver_client, api_client, spot):
    reserve_as_guest(api_client, spot.id, email="first@example.com", reservation_length=60)

    response = reserve(driver_client, spot.id, reservation_length=10)

    assert response.status_code == 400
    assert response.json() == {"parking_spot": ["This parking spot is already reserved"]}


def test_an_inactive_spot_is_refused_on_parking_spot(driver_client):
    spot = ParkingSpotFactory(active=False)

    response = reserve(driver_client, spot.id, reservation_length=10)

    assert response.status_code == 400
    assert response.json() == {
        "parking_spot": ["This parking spot is currently not commercially available"]
    }


def test_an_unknown_spot_is_404(driver_client):
    response = reserve(driver_client, 999_999, reservation_length=10)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_spot_freed_by_a_finished_reservation_can_be_booked(driver_client, spot):
    ReservationFactory(spot=spot, status=Reservation.Status.CANCELLED)
    past = timezone.now() - timedelta(hours=2)
    ReservationFactory(
        spot=spot, confirmed=True, start_time=past, end_time=past + timedelta(hours=1)
    )

    assert reserve(driver_client, spot.id, reservation_length=10).status_code == 201


@pytest.mark.parametrize(
    "length", [0, -5, 1441, "ninety", "", None, 12.5, True, [30], {"minutes": 30}]
)
def test_a_bad_length_is_a_400_naming_it(driver_client, spot, length):
    response = reserve(driver_client, spot.id, reservation_length=length)

    assert response.status_code == 400
    assert list(response.json()) == ["reservation_length"]


def test_the_longest_reservation_is_24_hours(driver_client, spot):
    assert reserve(driver_client, spot.id, reservation_length=1440).status_code == 201


@pytest.mark.parametrize(
    "body",
    [{}, {"reservation_length": 30}, {"reservation": "30"}, {"reservation": None}, [1, 2]],
)
def test_a_missing_or_malformed_envelope_is_a_400_naming_it(driver_client, spot, body):
    response = driver_client.post(f"/reservation-auth/{spot.id}/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["reservation"]


def test_malformed_json_is_a_400(driver_client, spot):
    response = driver_client.post(
        f"/reservation-auth/{spot.id}/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_reserving_signed_in_needs_a_token(api_client, spot):
    response = reserve(api_client, spot.id, reservation_length=30)

    assert response.status_code == 401
    assert "detail" in response.json()


def test_guest_without_email_is_a_400_naming_it(api_client, spot):
    response = reserve_as_guest(api_client, spot.id, reservation_length=30)

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_guest_with_a_malformed_email_is_a_400_naming_it(api_client, spot):
    response = reserve_as_guest(api_client, spot.id, email="not-an-email", reservation_length=30)

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_reserving_answers_without_trailing_slash(driver_client, spot):
    response = driver_client.post(
        f"/reservation-auth/{spot.id}", {"reservation": {"reservation_length": 5}}, format="json"
    )

    assert response.status_code == 201


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_reserve_route_rejects_other_methods(driver_client, spot, method):
    response = getattr(driver_client, method)(f"/reservation-auth/{spot.id}/")

    assert response.status_code == 405


class TestBookingAhead:
    def test_books_a_future_slot(self, driver_client, spot):
        start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

        response = reserve(
            driver_client, spot.id, reservation_length=60, start_time=start.isoformat()
        )

        assert response.status_code == 201
        assert parse_datetime(response.json()["start_time"]) == start

    def test_a_future_booking_leaves_the_spot_free_now(self, driver_client, api_client, spot):
        start = timezone.now() + timedelta(hours=3)
        reserve(driver_client, spot.id, reservation_length=60, start_time=start.isoformat())

        response = reserve_as_guest(
            api_client, spot.id, email="guest@example.com", reservation_length=120
        )

        assert response.status_code == 201

    def test_a_booking_running_into_a_future_one_is_refused(self, driver_client, api_client, spot):
        start = timezone.now() + timedelta(hours=1)
        reserve(driver_client, spot.id, reservation_length=60, start_time=start.isoformat())

        response = reserve_as_guest(
            api_client, spot.id, email="guest@example.com", reservation_length=61
        )

        assert response.status_code == 400
        assert list(response.json()) == ["parking_spot"]

    @pytest.mark.parametrize(
        "start_time",
        [
            "2026-11-24T18:30:00",  # no zone
            "tomorrow",
            "2026-13-01T10:00:00Z",
            12345,
        ],
    )
    def test_a_malformed_start_time_is_a_400_naming_it(self, driver_client, spot, start_time):
        response = reserve(driver_client, spot.id, reservation_length=30, start_time=start_time)

        assert response.status_code == 400
        assert list(response.json()) == ["start_time"]

    def test_a_start_in_the_past_is_refused(self, driver_client, spot):
        start = timezone.now() - timedelta(hours=1)

        response = reserve(
            driver_client, spot.id, reservation_length=30, start_time=start.isoformat()
        )

        assert response.status_code == 400
        assert list(response.json()) == ["start_time"]

    def test_a_start_more_than_7_days_ahead_is_refused(self, driver_client, spot):
        start = timezone.now() + timedelta(days=7, hours=1)

        response = reserve(
            driver_client, spot.id, reservation_length=30, start_time=start.isoformat()
        )

        assert response.status_code == 400
        assert list(response.json()) == ["start_time"]


def test_a_refused_booking_leaves_the_callers_transaction_usable(spot):
    # On PostgreSQL the refusal is the exclusion constraint's: the booking's own savepoint
    # must undo the failed insert, not the caller's transaction.
    ReservationFactory(spot=spot)

    with transaction.atomic():
        with pytest.raises(SpotUnavailable):
            services.reserve_spot(spot_id=spot.id, user=None, email="late@example.com", minutes=5)
        later = services.reserve_spot(
            spot_id=spot.id,
            user=None,
            email="later@example.com",
            minutes=5,
            start_time=timezone.now() + timedelta(hours=2),
        )

    assert Reservation.objects.filter(spot=spot).count() == 2
    assert later.email == "later@example.com"


@pytest.mark.parametrize("email", ["member@example.com", "nobody@example.com"])
def test_an_inactive_spot_is_refused_before_the_email_is_asked_about(api_client, email):
    UserFactory(email="member@example.com")
    spot = ParkingSpotFactory(active=False)

    response = reserve_as_guest(api_client, spot.id, email=email, reservation_length=30)

    assert response.status_code == 400
    assert response.json() == {
        "parking_spot": ["This parking spot is currently not commercially available"]
    }


@pytest.mark.parametrize("email", ["member@example.com", "nobody@example.com"])
def test_a_held_spot_is_refused_before_the_email_is_asked_about(api_client, spot, email):
    UserFactory(email="member@example.com")
    ReservationFactory(spot=spot)

    response = reserve_as_guest(api_client, spot.id, email=email, reservation_length=30)

    assert response.status_code == 400
    assert response.json() == {"parking_spot": ["This parking spot is already reserved"]}


def test_a_guest_using_an_accounts_email_books_nothing(api_client, spot):
    UserFactory(email="member@example.com")

    response = reserve_as_guest(
        api_client, spot.id, email="Member@Example.com", reservation_length=30
    )

    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert not Reservation.objects.exists()
