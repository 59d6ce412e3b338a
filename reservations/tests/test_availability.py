import json
from datetime import timedelta

import pytest
from django.utils import timezone

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db

NEAR = {"lat": "40.758", "lng": "-73.9855", "unit": "km", "dist": "1"}


def full_list(client, **params) -> list[int]:
    response = client.get("/available-parking-spots/", params)
    return [s["id"] for s in json.loads(b"".join(response.streaming_content))]


def nearby(client, **params) -> list[int]:
    return [
        s["id"] for s in client.get("/available-parking-spots-filter", {**NEAR, **params}).json()
    ]


@pytest.fixture
def spots():
    return ParkingSpotFactory.create_batch(2)


@pytest.mark.parametrize("status", Reservation.LIVE_STATUSES)
def test_a_spot_held_now_is_not_listed(api_client, spots, status):
    ReservationFactory(spot=spots[0], status=status)

    assert full_list(api_client) == [spots[1].id]
    assert nearby(api_client) == [spots[1].id]


@pytest.mark.parametrize(
    "status", [Reservation.Status.CANCELLED, Reservation.Status.EXPIRED, Reservation.Status.ENDED]
)
def test_a_spot_whose_reservation_is_over_is_listed(api_client, spots, status):
    ReservationFactory(spot=spots[0], status=status)

    assert full_list(api_client) == [s.id for s in spots]


def test_a_reservation_past_its_end_time_frees_the_spot_by_the_clock_alone(api_client, spots):
    start = timezone.now() - timedelta(hours=2)
    ReservationFactory(
        spot=spots[0], confirmed=True, start_time=start, end_time=start + timedelta(hours=1)
    )

    assert full_list(api_client) == [s.id for s in spots]


def test_a_booking_ahead_does_not_hide_the_spot_now(api_client, spots):
    start = timezone.now() + timedelta(hours=2)
    ReservationFactory(spot=spots[0], start_time=start, end_time=start + timedelta(hours=1))

    assert full_list(api_client) == [s.id for s in spots]


def test_a_window_lists_only_spots_free_for_all_of_it(api_client, spots):
    start = timezone.now() + timedelta(hours=2)
    ReservationFactory(spot=spots[0], start_time=start, end_time=start + timedelta(hours=1))
    window = {
        "start": (start - timedelta(minutes=30)).isoformat(),
        "end": (start + timedelta(minutes=5)).isoformat(),
    }

    assert full_list(api_client, **window) == [spots[1].id]
    assert nearby(api_client, **window) == [spots[1].id]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2030-01-01T10:00:00Z"}, "end"),
        ({"end": "2030-01-01T10:00:00Z"}, "start"),
        ({"start": "2026-11-25T10:00:00", "end": "2026-11-25T11:00:00Z"}, "start"),
        ({"start": "later", "end": "2026-11-25T11:00:00Z"}, "start"),
    ],
)
def test_a_bad_window_is_a_400_naming_the_parameter(api_client, params, field):
    assert api_client.get("/available-parking-spots/", params).json().keys() == {field}
    assert api_client.get("/available-parking-spots-filter", {**NEAR, **params}).status_code == 400


def test_a_window_ending_before_it_starts_is_a_400_on_end(api_client):
    start = timezone.now() + timedelta(hours=2)
    params = {"start": start.isoformat(), "end": (start - timedelta(hours=1)).isoformat()}

    response = api_client.get("/available-parking-spots/", params)

    assert response.status_code == 400
    assert list(response.json()) == ["end"]


def test_the_list_etag_changes_when_a_spot_is_reserved(api_client, spots):
    etag = api_client.get("/available-parking-spots/")["ETag"]

    ReservationFactory(spot=spots[0])

    response = api_client.get("/available-parking-spots/", headers={"If-None-Match": etag})
    assert response.status_code == 200


def test_the_list_etag_changes_when_a_reservation_runs_out(api_client, spots):
    reservation = ReservationFactory(spot=spots[0])
    etag = api_client.get("/available-parking-spots/")["ETag"]

    # Time passes: the reservation's end is now behind us, with no write to any spot.
    Reservation.objects.filter(pk=reservation.pk).update(
        start_time=timezone.now() - timedelta(hours=2), end_time=timezone.now() - timedelta(hours=1)
    )

    response = api_client.get("/available-parking-spots/", headers={"If-None-Match": etag})
    assert response.status_code == 200
