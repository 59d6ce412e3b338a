"""Where schema fuzzing found the schema and the behaviour disagreeing, they now say the same."""

import pytest

from payments.gateways.sandbox import TEST_CARDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def query_parameter(schema, path, name) -> dict:
    parameters = schema["paths"][path]["get"]["parameters"]
    return next(p for p in parameters if p["name"] == name)["schema"]


def component(schema, reference: str) -> dict:
    return schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]


def test_the_search_limit_and_radius_bounds_are_in_the_schema(schema, client):
    search = "/available-parking-spots-filter/"
    limit = query_parameter(schema, search, "limit")
    dist = query_parameter(schema, search, "dist")

    assert (limit["minimum"], limit["maximum"]) == (1, 1000)
    assert (dist["minimum"], dist["exclusiveMinimum"]) == (0, True)
    refused = client.get(search, {"lat": 40.7, "lng": -74, "unit": "km", "dist": 0, "limit": 0})
    assert set(refused.json()) == {"dist", "limit"}


def test_the_quote_length_bounds_are_in_the_schema(schema):
    minutes = query_parameter(schema, "/quote/{spot_id}/", "minutes")

    assert (minutes["minimum"], minutes["maximum"]) == (1, 1440)


@pytest.mark.parametrize(
    "path",
    [
        "/change-pw/",
        "/update-reservation-auth/{reservation_id}/",
        "/update-reservation-unauth/{reservation_id}/{email}/",
    ],
)
def test_a_patch_body_is_required_with_its_envelope(schema, path):
    body = schema["paths"][path]["patch"]["requestBody"]
    envelope = component(schema, body["content"]["application/json"]["schema"]["$ref"])

    assert body["required"] is True
    assert len(envelope["required"]) == 1


def test_the_sandbox_card_schema_lists_the_cards_it_takes(schema, client):
    body = schema["paths"]["/sandbox/setup-intents/{setup_intent_id}/confirm/"]["post"]
    card_request = component(
        schema, body["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    card_number = component(schema, card_request["properties"]["card_number"]["allOf"][0]["$ref"])

    assert sorted(card_number["enum"]) == sorted(TEST_CARDS)


def test_an_empty_start_on_the_full_list_is_refused_naming_it(client):
    response = client.get("/available-parking-spots/?start=")

    assert response.status_code == 400
    assert list(response.json()) == ["start"]


def test_the_webhook_without_a_signature_header_is_a_400_even_on_the_sandbox(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = client.post("/webhooks/stripe/", {}, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "Missing Stripe-Signature header."}
