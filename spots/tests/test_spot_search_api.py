import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spots.models import LAT_BANDS_PER_DEGREE, ParkingSpot
from spots.selectors import EARTH_RADIUS_M, available_spot_ids_near
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db

SEARCH = "/available-parking-spots-filter"
TIMES_SQUARE = {"lat": "40.758000", "lng": "-73.985500"}
EMPIRE_STATE = (Decimal("40.748817"), Decimal("-73.985428"))
CENTRAL_PARK_NORTH = (Decimal("40.797500"), Decimal("-73.953600"))
TIMES_SQUARE_TO_EMPIRE_STATE_KM = 1.0211


def reference_distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    chord = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(chord))


def search(client, **params):
    return client.get(SEARCH, {**TIMES_SQUARE, "unit": "km", "dist": "2", **params})


def test_finds_spots_within_the_distance_nearest_first_with_their_distance(client):
    far = ParkingSpotFactory(lat=EMPIRE_STATE[0], lng=EMPIRE_STATE[1])
    near = ParkingSpotFactory(lat=Decimal("40.757000"), lng=Decimal("-73.985500"))
    ParkingSpotFactory(lat=CENTRAL_PARK_NORTH[0], lng=CENTRAL_PARK_NORTH[1])

    response = search(client)

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body] == [near.id, far.id]
    assert body[1]["distance"] == pytest.approx(TIMES_SQUARE_TO_EMPIRE_STATE_KM, abs=1e-3)
    assert set(body[1]) == {
        "id",
        "lat",
        "lng",
        "reserved",
        "active",
        "rate",
        "created_at",
        "updated_at",
        "distance",
    }


@pytest.mark.parametrize("unit", ["mi", "mil", "mile", "miles", "MI"])
def test_reports_distance_in_miles_for_every_spelling_of_miles(client, unit):
    ParkingSpotFactory(lat=EMPIRE_STATE[0], lng=EMPIRE_STATE[1])

    [row] = search(client, unit=unit, dist="1").json()

    assert row["distance"] == pytest.approx(TIMES_SQUARE_TO_EMPIRE_STATE_KM / 1.609344, abs=1e-3)


def test_accepts_long_for_longitude(client):
    ParkingSpotFactory(lat=EMPIRE_STATE[0], lng=EMPIRE_STATE[1])

    response = client.get(SEARCH, {"lat": "40.758", "long": "-73.9855", "unit": "km", "dist": "2"})

    assert response.status_code == 200
    assert len(response.json()) == 1


def test_leaves_out_spots_beyond_the_distance(client):
    ParkingSpotFactory(lat=EMPIRE_STATE[0], lng=EMPIRE_STATE[1])

    assert search(client, dist="1.0").json() == []


def test_leaves_out_inactive_spots(client):
    ParkingSpotFactory(active=False)

    assert search(client).json() == []


def test_answers_with_trailing_slash_too(client):
    ParkingSpotFactory()

    response = client.get(SEARCH + "/", {**TIMES_SQUARE, "unit": "km", "dist": "1"})

    assert response.status_code == 200
    assert len(response.json()) == 1


def test_limit_returns_only_the_nearest(client):
    spots = [
        ParkingSpotFactory(lat=Decimal("40.758000") + Decimal("0.0001") * i) for i in range(10)
    ]

    body = search(client, limit="3").json()

    assert [row["id"] for row in body] == [s.id for s in spots[:3]]


def test_limit_looks_beyond_the_first_small_circle_when_it_holds_too_few(client):
    # Half the radius away: outside the quarter-radius first try.
    spots = [ParkingSpotFactory(lat=Decimal("40.767000") + Decimal("0.0001") * i) for i in range(3)]

    body = search(client, limit="2").json()

    assert [row["id"] for row in body] == [s.id for s in spots[:2]]


def test_finds_spots_on_both_sides_of_a_latitude_band_edge(client):
    edge = Decimal(16303) / LAT_BANDS_PER_DEGREE  # 40.7575 exactly
    below = ParkingSpotFactory(lat=edge - Decimal("0.000001"))
    on_edge = ParkingSpotFactory(lat=edge)

    found = {row["id"] for row in search(client, dist="0.1").json()}

    assert found == {below.id, on_edge.id}


def test_sends_an_etag_and_answers_a_match_with_304(client):
    ParkingSpotFactory()
    etag = search(client)["ETag"]

    response = client.get(
        SEARCH, {**TIMES_SQUARE, "unit": "km", "dist": "2"}, headers={"If-None-Match": etag}
    )

    assert response.status_code == 304


def test_etag_differs_for_a_different_result(client):
    ParkingSpotFactory()
    etag = search(client)["ETag"]
    ParkingSpotFactory(lat=EMPIRE_STATE[0], lng=EMPIRE_STATE[1])

    response = client.get(
        SEARCH, {**TIMES_SQUARE, "unit": "km", "dist": "2"}, headers={"If-None-Match": etag}
    )

    assert response.status_code == 200
    assert len(response.json()) == 2


@pytest.mark.parametrize("missing", ["lat", "lng", "unit", "dist"])
def test_a_missing_parameter_is_a_400_naming_it(client, missing):
    params = {**TIMES_SQUARE, "unit": "km", "dist": "2"}
    del params[missing]

    response = client.get(SEARCH, params)

    assert response.status_code == 400
    assert list(response.json()) == [missing]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("lat", "north"),
        ("lat", "91"),
        ("lat", "-90.5"),
        ("lat", "nan"),
        ("lng", "-181"),
        ("lng", "inf"),
        ("lng", ""),
        ("dist", "0"),
        ("dist", "-1"),
        ("dist", "far"),
        ("dist", "51"),
        ("unit", "furlong"),
        ("unit", ""),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("limit", "2.5"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, param, value):
    response = search(client, **{param: value})

    assert response.status_code == 400
    assert list(response.json()) == [param]
    assert isinstance(response.json()[param][0], str)


def test_a_distance_too_far_in_miles_is_a_400_naming_dist(client):
    response = search(client, unit="mi", dist="40")

    assert response.status_code == 400
    assert "31.0686 mi" in response.json()["dist"][0]


def test_reports_every_bad_parameter_at_once(client):
    response = client.get(SEARCH, {"lat": "x", "unit": "km"})

    assert response.status_code == 400
    assert set(response.json()) == {"lat", "lng", "dist"}


def test_rejects_writes_with_405(client):
    assert client.post(SEARCH).status_code == 405


nyc_lat = st.floats(min_value=40.70, max_value=40.80)
nyc_lng = st.floats(min_value=-74.02, max_value=-73.93)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    spots=st.lists(st.tuples(nyc_lat, nyc_lng), max_size=30),
    centre=st.tuples(nyc_lat, nyc_lng),
    radius_m=st.floats(min_value=10, max_value=8000),
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)
def test_search_finds_exactly_what_a_full_scan_finds(spots, centre, radius_m, limit):
    ParkingSpot.objects.all().delete()
    created = [
        ParkingSpotFactory(lat=Decimal(f"{lat:.6f}"), lng=Decimal(f"{lng:.6f}"))
        for lat, lng in spots
    ]
    by_distance = sorted(
        (reference_distance_m(centre[0], centre[1], float(s.lat), float(s.lng)), s.id)
        for s in created
    )
    # A spot this close to the edge may fairly fall either side after rounding.
    assume(all(abs(d - radius_m) > 1e-6 for d, _ in by_distance))
    expected = [spot_id for d, spot_id in by_distance if d <= radius_m][:limit]

    found = available_spot_ids_near(lat=centre[0], lng=centre[1], radius_m=radius_m, limit=limit)

    assert found == expected
