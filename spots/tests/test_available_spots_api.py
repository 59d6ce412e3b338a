import json
from decimal import Decimal
from pathlib import Path
from unittest.mock import ANY

import pytest
from django.db.models import Q
from django.http import FileResponse
from django.utils.dateparse import parse_datetime

from spots.models import ParkingSpot
from spots.serializers import ParkingSpotSerializer
from spots.services import set_spots_active
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db

FULL_LIST = "/available-parking-spots/"


def listed(response) -> list[dict]:
    return json.loads(b"".join(response.streaming_content))


def test_lists_active_spots_in_the_contract_shape(client):
    spot = ParkingSpotFactory(lat=Decimal("40.7672"), lng=Decimal("-73.98"), rate=Decimal("5"))
    ParkingSpotFactory(active=False)

    response = client.get(FULL_LIST)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = listed(response)
    assert body == [
        {
            "id": spot.id,
            "lat": "40.767200",
            "lng": "-73.980000",
            "reserved": False,
            "active": True,
            "rate": "5.00",
            "created_at": ANY,
            "updated_at": ANY,
        }
    ]
    assert parse_datetime(body[0]["created_at"]) == spot.created_at
    assert body[0]["updated_at"].endswith("Z")


def test_list_json_matches_the_documented_serializer(client):
    spot = ParkingSpotFactory()
    spot.refresh_from_db()

    [row] = listed(client.get(FULL_LIST))

    documented = dict(ParkingSpotSerializer({**vars(spot), "reserved": False}).data)
    for stamp in ("created_at", "updated_at"):
        assert parse_datetime(row.pop(stamp)) == parse_datetime(documented.pop(stamp))
    assert row == documented


def test_lists_spots_by_id(client):
    spots = ParkingSpotFactory.create_batch(3)

    assert [row["id"] for row in listed(client.get(FULL_LIST))] == [s.id for s in spots]


def test_empty_list_is_an_empty_array(client):
    assert listed(client.get(FULL_LIST)) == []


def test_list_answers_without_trailing_slash(client):
    ParkingSpotFactory()

    response = client.get("/available-parking-spots")

    assert response.status_code == 200
    assert len(listed(response)) == 1


def test_list_streams_more_than_one_chunk(client, monkeypatch):
    monkeypatch.setattr("spots.api.STREAM_CHUNK_ROWS", 2)
    ParkingSpotFactory.create_batch(5)

    response = client.get(FULL_LIST)

    assert response.streaming
    assert len(listed(response)) == 5


def test_list_sends_an_etag_and_answers_a_match_with_304(client):
    ParkingSpotFactory()
    etag = client.get(FULL_LIST)["ETag"]

    response = client.get(FULL_LIST, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""


def test_list_etag_changes_when_a_spot_is_withdrawn(client):
    spot, _ = ParkingSpotFactory.create_batch(2)
    etag = client.get(FULL_LIST)["ETag"]

    set_spots_active(spots=ParkingSpot.objects.filter(pk=spot.pk), active=False)
    response = client.get(FULL_LIST, headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response["ETag"] != etag
    assert len(listed(response)) == 1


def test_list_etag_changes_when_a_spot_is_removed(client):
    spot, _ = ParkingSpotFactory.create_batch(2)
    etag = client.get(FULL_LIST)["ETag"]

    ParkingSpot.objects.filter(Q(pk=spot.pk)).delete()

    assert client.get(FULL_LIST, headers={"If-None-Match": etag}).status_code == 200


def test_list_ignores_a_bad_token_since_it_is_public(client):
    ParkingSpotFactory()

    response = client.get(FULL_LIST, headers={"Authorization": "Token not-a-token"})

    assert response.status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_list_rejects_writes_with_405(client, method):
    response = getattr(client, method)(FULL_LIST)

    assert response.status_code == 405
    assert "detail" in response.json()


def test_cors_preflight_is_answered_for_the_client_origin(client):
    response = client.options(
        "/available-parking-spots",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_the_same_list_is_served_from_its_kept_file(client):
    ParkingSpotFactory.create_batch(3)
    first = client.get(FULL_LIST)
    first_body = b"".join(first.streaming_content)

    second = client.get(FULL_LIST)

    assert isinstance(second, FileResponse)
    assert b"".join(second.streaming_content) == first_body


def test_a_change_in_availability_is_never_served_from_an_old_file(client):
    spot, _ = ParkingSpotFactory.create_batch(2)
    listed(client.get(FULL_LIST))

    set_spots_active(spots=ParkingSpot.objects.filter(pk=spot.pk), active=False)

    assert len(listed(client.get(FULL_LIST))) == 1


def test_a_client_hanging_up_leaves_no_file_behind(client, settings):
    ParkingSpotFactory.create_batch(3)
    response = client.get(FULL_LIST)

    next(iter(response.streaming_content))
    response.close()

    assert list(Path(settings.SPOT_LIST_DIR).iterdir()) == []
