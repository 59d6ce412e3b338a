import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        (
            "/create-payment-intent-auth/{reservation_id}/",
            "post",
            {"201", "401", "404", "409", "503"},
        ),
        (
            "/create-payment-intent-unauth/{reservation_id}/{email}/",
            "post",
            {"201", "404", "409", "503"},
        ),
        (
            "/confirm-successful-setup-intent-auth/{reservation_id}/",
            "get",
            {"204", "401", "404", "409", "503"},
        ),
        (
            "/confirm-successful-setup-intent-unauth/{reservation_id}/{email}/",
            "get",
            {"204", "404", "409", "503"},
        ),
        ("/webhooks/stripe/", "post", {"200", "400", "404", "503"}),
        (
            "/sandbox/setup-intents/{setup_intent_id}/confirm/",
            "post",
            {"200", "400", "402", "404", "409"},
        ),
        ("/retry-payment/{token}/", "post", {"200", "404", "409", "503"}),
        ("/confirm-payment/{token}/", "post", {"204", "404", "409", "503"}),
    ],
)
def test_schema_documents_each_payment_route(schema, path, method, codes):
    assert set(schema["paths"][path][method]["responses"]) == codes


def test_schema_names_the_client_secret_as_the_client_reads_it(schema):
    assert "clientSecret" in schema["components"]["schemas"]["ClientSecret"]["properties"]


def test_schema_names_the_payment_client_secret_as_the_client_reads_it(schema):
    properties = schema["components"]["schemas"]["PaymentIntentSecret"]["properties"]
    assert "clientSecret" in properties
