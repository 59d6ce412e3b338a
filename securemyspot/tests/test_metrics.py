"""/metrics is for the scraper holding METRICS_TOKEN only."""

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db

TOKEN = "scraper-token"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.MIDDLEWARE = [
        settings.MIDDLEWARE[0],
        "securemyspot.metrics.RequestMetricsMiddleware",
        *settings.MIDDLEWARE[1:],
    ]


def scrape(client, token: str = TOKEN):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})


def test_without_a_metrics_token_configured_there_are_no_metrics(client, settings):
    settings.METRICS_TOKEN = ""

    response = scrape(client, token="")

    assert response.status_code == 404


@pytest.mark.usefixtures("metrics_on")
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Token {TOKEN}", f"Basic {TOKEN}", "Bearer"]
)
def test_metrics_need_the_token(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"securemyspot_" not in response.content


@pytest.mark.usefixtures("metrics_on")
def test_requests_are_counted_by_route_name_and_status(client):
    labels = {"method": "GET", "route": "healthz", "status": "200"}
    before = REGISTRY.get_sample_value("securemyspot_http_requests_total", labels) or 0

    client.get("/healthz")
    client.get("/healthz/")
    response = scrape(client)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert REGISTRY.get_sample_value("securemyspot_http_requests_total", labels) == before + 2
    assert b"securemyspot_http_request_duration_seconds_bucket" in response.content


@pytest.mark.usefixtures("metrics_on")
def test_a_guest_route_is_counted_under_its_name_not_its_path(client):
    client.get("/reservation-unauth/1/jane@example.com/")

    body = scrape(client).content.decode()

    assert 'route="reservation-guest",status="404"' in body
    assert "jane" not in body
