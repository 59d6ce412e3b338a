import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_documents_the_token_as_an_authorization_header(schema):
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/sign-up/", "post", {"201", "400", "429"}),
        ("/sign-in/", "post", {"201", "400", "429"}),
        ("/sign-out/", "delete", {"204", "401"}),
        ("/change-pw/", "patch", {"204", "400", "401"}),
    ],
)
def test_schema_documents_each_account_route(schema, path, method, codes):
    operation = schema["paths"][path][method]

    assert set(operation["responses"]) == codes


def test_schema_documents_the_credentials_envelope(schema):
    body = schema["paths"]["/sign-up/"]["post"]["requestBody"]["content"]["application/json"]
    envelope = schema["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]

    assert envelope["required"] == ["credentials"]


def test_schema_requires_a_token_for_sign_out_only_among_sign_in_routes(schema):
    assert schema["paths"]["/sign-out/"]["delete"]["security"] == [{"tokenAuth": []}]
    assert "tokenAuth" not in str(schema["paths"]["/sign-in/"]["post"].get("security", []))
