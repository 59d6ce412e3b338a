import pytest
from django.db import DatabaseError

pytestmark = pytest.mark.django_db

CONTRACT_PATHS = [
    "/sign-up/",
    "/sign-in/",
    "/sign-out/",
    "/change-pw/",
    "/available-parking-spots/",
    "/available-parking-spots-filter/",
    "/reservation-auth/",
    "/expired-reservations-auth/",
    "/reservation-auth/{spot_id}/",
    "/reservation-unauth/{spot_id}/",
    "/reservation-unauth/{reservation_id}/{email}/",
    "/update-reservation-auth/{reservation_id}/",
    "/update-reservation-unauth/{reservation_id}/{email}/",
    "/delete-reservation-auth/{reservation_id}/",
    "/delete-reservation-unauth/{reservation_id}/{email}/",
    "/create-payment-intent-auth/{reservation_id}/",
    "/create-payment-intent-unauth/{reservation_id}/{email}/",
    "/confirm-successful-setup-intent-auth/{reservation_id}/",
    "/confirm-successful-setup-intent-unauth/{reservation_id}/{email}/",
]


def test_health_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_reports_503_when_the_database_fails(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("securemyspot.health.connection.cursor", broken_cursor)

    response = client.get("/healthz/")

    assert response.status_code == 503


def test_schema_documents_every_contract_route(client):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert set(CONTRACT_PATHS) <= set(response.json()["paths"])


def test_swagger_ui_is_served_from_local_assets(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn.jsdelivr" not in response.content


def test_an_unknown_route_is_a_json_404(client):
    response = client.get("/no-such-route/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_client_accepting_anything_gets_json(client):
    for accept in ({}, {"Accept": "*/*"}):
        response = client.get("/available-parking-spots/", headers=accept)

        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"


def test_a_client_accepting_only_html_is_told_406(client):
    response = client.get("/available-parking-spots/", headers={"Accept": "text/html"})

    assert response.status_code == 406


def test_a_format_the_api_does_not_render_is_not_found(client):
    response = client.get("/available-parking-spots/?format=xml", headers={"Accept": "*/*"})

    assert response.status_code == 404
