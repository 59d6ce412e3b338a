"""Out-of-range lengths and impossible emails are 4xx naming the field, on both databases."""

import pytest

from reservations.models import Reservation

pytestmark = pytest.mark.django_db

HUGE = 1_440_000_000_000  # minutes: a timedelta this long overflows a datetime
GUEST_ROUTES = [
    ("get", "/reservation-unauth/{id}/{email}/"),
    ("patch", "/update-reservation-unauth/{id}/{email}/"),
    ("delete", "/delete-reservation-unauth/{id}/{email}/"),
    ("post", "/create-payment-intent-unauth/{id}/{email}/"),
    ("get", "/confirm-successful-setup-intent-unauth/{id}/{email}/"),
]


def reserve_as_guest(client, spot_id, **fields):
    return client.post(f"/reservation-unauth/{spot_id}/", {"reservation": fields}, format="json")


@pytest.mark.parametrize("length", [HUGE, -HUGE, str(HUGE), 10**40, 0, 1441])
def test_a_booking_length_out_of_range_is_a_400_naming_it(api_client, spot, length):
    response = reserve_as_guest(
        api_client, spot.id, email="guest@example.com", reservation_length=length
    )

    assert response.status_code == 400
    assert list(response.json()) == ["reservation_length"]
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("minutes", [HUGE, -HUGE, 10**40])
def test_a_quote_length_out_of_range_is_a_400_naming_it(api_client, spot, minutes):
    response = api_client.get(f"/quote/{spot.id}/", {"minutes": minutes})

    assert response.status_code == 400
    assert list(response.json()) == ["minutes"]


def test_the_schema_states_the_length_limits(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    length = schema["components"]["schemas"]["NewGuestReservationRequest"]["properties"][
        "reservation_length"
    ]
    assert (length["minimum"], length["maximum"]) == (1, 1440)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "email", ["a" * 250 + "@example.com", "guest\x00@example.com"], ids=["long", "nul"]
)
def test_a_guest_booking_with_an_impossible_email_is_a_400_on_email(api_client, spot, email):
    response = reserve_as_guest(api_client, spot.id, email=email, reservation_length=30)

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


@pytest.mark.postgres
@pytest.mark.parametrize(("method", "route"), GUEST_ROUTES)
@pytest.mark.parametrize("email", ["guest%00@example.com", "a" * 250 + "@example.com"])
def test_a_guest_route_with_an_impossible_email_is_not_found(api_client, method, route, email):
    path = route.format(id=123, email=email)

    response = getattr(api_client, method)(path, {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
