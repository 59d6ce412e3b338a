import pytest
from django.contrib.auth import get_user_model

from spots.models import ParkingSpot
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/spots/parkingspot/"


@pytest.fixture
def operator_client(client):
    operator = get_user_model().objects.create_superuser("operator@example.com", "s3cret-pass!")
    client.force_login(operator)
    return client


def test_operator_lists_and_filters_spots(operator_client):
    ParkingSpotFactory(active=True)
    inactive = ParkingSpotFactory(active=False)

    response = operator_client.get(CHANGELIST, {"active__exact": "0"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [inactive]


def test_operator_finds_a_spot_by_id(operator_client):
    wanted, _ = ParkingSpotFactory.create_batch(2)

    response = operator_client.get(CHANGELIST, {"q": str(wanted.id)})

    assert list(response.context["cl"].result_list) == [wanted]


def test_operator_filters_by_rate_band(operator_client):
    ParkingSpotFactory(rate="2.00")
    pricey = ParkingSpotFactory(rate="7.50")

    response = operator_client.get(CHANGELIST, {"rate": "high"})

    assert list(response.context["cl"].result_list) == [pricey]


@pytest.mark.parametrize(
    ("action", "start", "end"), [("deactivate", True, False), ("activate", False, True)]
)
def test_operator_bulk_changes_whether_spots_are_offered(operator_client, action, start, end):
    spots = ParkingSpotFactory.create_batch(2, active=start)

    response = operator_client.post(
        CHANGELIST, {"action": action, "_selected_action": [s.pk for s in spots]}
    )

    assert response.status_code == 302
    assert set(ParkingSpot.objects.values_list("active", flat=True)) == {end}


def test_operator_adds_a_spot_and_its_search_band_is_set(operator_client):
    response = operator_client.post(
        "/admin/spots/parkingspot/add/",
        {"lat": "40.758000", "lng": "-73.985500", "rate": "3.25", "active": "on"},
    )

    assert response.status_code == 302
    spot = ParkingSpot.objects.get()
    assert spot.lat_band == 16303


def test_operator_cannot_add_a_spot_off_the_globe(operator_client):
    response = operator_client.post(
        "/admin/spots/parkingspot/add/",
        {"lat": "95", "lng": "-73.985500", "rate": "3.25", "active": "on"},
    )

    assert response.status_code == 200
    assert "lat" in response.context["adminform"].form.errors
    assert not ParkingSpot.objects.exists()
