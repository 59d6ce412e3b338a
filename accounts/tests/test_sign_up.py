import pytest

from accounts.models import AuthToken, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.throttles import SignUpThrottle

pytestmark = pytest.mark.django_db


def sign_up(client, email="new.driver@example.com", password=PASSWORD, confirmation=None):
    credentials = {
        "email": email,
        "password": password,
        "password_confirmation": password if confirmation is None else confirmation,
    }
    return client.post("/sign-up/", {"credentials": credentials}, format="json")


def test_sign_up_answers_with_email_and_a_token_that_signs_in(api_client):
    response = sign_up(api_client)

    assert response.status_code == 201
    assert response.json()["email"] == "new.driver@example.com"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.delete("/sign-out/").status_code == 204


def test_sign_up_stores_the_email_lower_cased(api_client):
    response = sign_up(api_client, email="New.Driver@Example.COM")

    assert response.json()["email"] == "new.driver@example.com"
    assert User.objects.get().email == "new.driver@example.com"


def test_sign_up_keeps_only_a_digest_of_the_token(api_client):
    key = sign_up(api_client).json()["token"]

    assert not AuthToken.objects.filter(digest=key).exists()
    assert len(AuthToken.objects.get().digest) == 64


def test_sign_up_works_without_trailing_slash(api_client):
    credentials = {
        "email": "a@example.com",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
    }

    response = api_client.post("/sign-up", {"credentials": credentials}, format="json")

    assert response.status_code == 201


def test_sign_up_rejects_mismatched_confirmation(api_client):
    response = sign_up(api_client, confirmation="something else entirely")

    assert response.status_code == 400
    assert response.json() == {"password_error": ["Passwords do not match"]}
    assert not User.objects.exists()


@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com", "Taken@Example.com"])
def test_sign_up_rejects_an_email_already_taken_in_any_case(api_client, email):
    UserFactory(email="taken@example.com")

    response = sign_up(api_client, email=email)

    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert User.objects.count() == 1


def test_sign_up_racing_another_for_the_same_email_is_refused_on_email(api_client, monkeypatch):
    UserFactory(email="taken@example.com")
    # As if the other sign-up committed between the check and the insert.
    monkeypatch.setattr("accounts.selectors.email_is_registered", lambda *, email: False)

    response = sign_up(api_client, email="taken@example.com")

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


@pytest.mark.parametrize(
    "password",
    ["short1!", "password123", "12345678901234", "new.driver@example"],
    ids=["too-short", "common", "numeric", "like-the-email"],
)
def test_sign_up_applies_the_password_validators(api_client, password):
    response = sign_up(api_client, password=password)

    assert response.status_code == 400
    assert list(response.json()) == ["password"]
    assert not User.objects.exists()


def test_sign_up_rejects_an_invalid_email(api_client):
    response = sign_up(api_client, email="not-an-email")

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


@pytest.mark.parametrize("missing", ["email", "password", "password_confirmation"])
def test_sign_up_names_a_missing_credential(api_client, missing):
    credentials = {
        "email": "a@example.com",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
    }
    del credentials[missing]

    response = api_client.post("/sign-up/", {"credentials": credentials}, format="json")

    assert response.status_code == 400
    assert response.json() == {missing: ["This field is required."]}


@pytest.mark.parametrize(
    ("credentials", "field"),
    [
        ({"email": 5, "password": PASSWORD, "password_confirmation": PASSWORD}, "email"),
        (
            {"email": "a@example.com", "password": 12345678, "password_confirmation": 12345678},
            "password",
        ),
        (
            {"email": ["a@example.com"], "password": PASSWORD, "password_confirmation": PASSWORD},
            "email",
        ),
    ],
    ids=["number-email", "number-password", "list-email"],
)
def test_sign_up_names_a_credential_of_the_wrong_type(api_client, credentials, field):
    response = api_client.post("/sign-up/", {"credentials": credentials}, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "a@example.com"}, {"credentials": "x"}, {"credentials": None}, []],
    ids=["empty", "no-envelope", "string-envelope", "null-envelope", "list-body"],
)
def test_sign_up_names_the_envelope_when_it_is_missing_or_not_an_object(api_client, body):
    response = api_client.post("/sign-up/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["credentials"]


def test_sign_up_rejects_malformed_json(api_client):
    response = api_client.post("/sign-up/", '{"credentials": {', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_sign_up_answers_other_methods_with_405(api_client):
    response = api_client.get("/sign-up/")

    assert response.status_code == 405
    assert "detail" in response.json()


def test_sign_up_is_throttled_per_address_with_retry_after(api_client, monkeypatch):
    monkeypatch.setattr(SignUpThrottle, "rate", "1/min", raising=False)
    sign_up(api_client, email="first@example.com")

    response = sign_up(api_client, email="second@example.com")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert not User.objects.filter(email="second@example.com").exists()
