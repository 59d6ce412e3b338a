from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuthToken
from accounts.tests.factories import PASSWORD, UserFactory, signed_in_client
from accounts.throttles import SignInThrottle

pytestmark = pytest.mark.django_db

BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}


def sign_in(client, email, password=PASSWORD, **extra):
    credentials = {"email": email, "password": password}
    return client.post("/sign-in/", {"credentials": credentials}, format="json", **extra)


def test_sign_in_answers_with_email_and_a_token_that_signs_in(api_client):
    UserFactory(email="driver@example.com")

    response = sign_in(api_client, "driver@example.com")

    assert response.status_code == 201
    assert response.json()["email"] == "driver@example.com"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.delete("/sign-out/").status_code == 204


def test_sign_in_matches_the_email_in_any_case(api_client):
    UserFactory(email="driver@example.com")

    response = sign_in(api_client, "  Driver@EXAMPLE.com")

    assert response.status_code == 201
    assert response.json()["email"] == "driver@example.com"


def test_sign_in_works_without_trailing_slash(api_client):
    UserFactory(email="driver@example.com")
    credentials = {"email": "driver@example.com", "password": PASSWORD}

    response = api_client.post("/sign-in", {"credentials": credentials}, format="json")

    assert response.status_code == 201


def test_sign_in_rejects_a_wrong_password(api_client):
    UserFactory(email="driver@example.com")

    response = sign_in(api_client, "driver@example.com", password="not the password")

    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS


def test_sign_in_rejects_an_unknown_email_like_a_wrong_password(api_client):
    response = sign_in(api_client, "nobody@example.com")

    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS


def test_sign_in_rejects_a_deactivated_account(api_client):
    UserFactory(email="driver@example.com", is_active=False)

    response = sign_in(api_client, "driver@example.com")

    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS


def test_signing_in_on_a_second_device_keeps_the_first_signed_in(api_client):
    user = UserFactory(email="driver@example.com")
    first_device, _ = signed_in_client(user)

    assert sign_in(api_client, "driver@example.com").status_code == 201

    assert AuthToken.objects.filter(user=user).count() == 2
    assert first_device.delete("/sign-out/").status_code == 204


def test_sign_in_ignores_an_expired_token_left_in_the_client(api_client):
    user = UserFactory(email="driver@example.com")
    client, token = signed_in_client(user)
    AuthToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(days=2))

    assert sign_in(client, "driver@example.com").status_code == 201


def test_sign_in_records_the_time_of_sign_in(api_client):
    user = UserFactory(email="driver@example.com")

    sign_in(api_client, "driver@example.com")

    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize("missing", ["email", "password"])
def test_sign_in_names_a_missing_credential(api_client, missing):
    credentials = {"email": "driver@example.com", "password": PASSWORD}
    del credentials[missing]

    response = api_client.post("/sign-in/", {"credentials": credentials}, format="json")

    assert response.status_code == 400
    assert response.json() == {missing: ["This field is required."]}


@pytest.mark.parametrize(
    ("credentials", "field"),
    [
        ({"email": 5, "password": PASSWORD}, "email"),
        ({"email": "driver@example.com", "password": 12345678}, "password"),
        ({"email": "driver@example.com", "password": None}, "password"),
    ],
    ids=["number-email", "number-password", "null-password"],
)
def test_sign_in_names_a_credential_of_the_wrong_type(api_client, credentials, field):
    response = api_client.post("/sign-in/", {"credentials": credentials}, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "driver@example.com", "password": PASSWORD}, {"credentials": "x"}, []],
    ids=["empty", "no-envelope", "string-envelope", "list-body"],
)
def test_sign_in_names_the_envelope_when_it_is_missing_or_not_an_object(api_client, body):
    response = api_client.post("/sign-in/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["credentials"]


def test_sign_in_rejects_malformed_json(api_client):
    response = api_client.post("/sign-in/", "{credentials}", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_sign_in_answers_other_methods_with_405(api_client):
    response = api_client.put("/sign-in/", {}, format="json")

    assert response.status_code == 405
    assert "detail" in response.json()


@pytest.fixture
def two_sign_ins_per_minute(monkeypatch):
    monkeypatch.setattr(SignInThrottle, "rate", "2/min", raising=False)


@pytest.mark.usefixtures("two_sign_ins_per_minute")
def test_sign_in_is_throttled_per_address_with_retry_after(api_client):
    UserFactory(email="driver@example.com")
    for _ in range(2):
        sign_in(api_client, "driver@example.com", password="guess")

    response = sign_in(api_client, "driver@example.com")

    assert response.status_code == 429
    assert "detail" in response.json()
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.usefixtures("two_sign_ins_per_minute")
def test_sign_in_throttle_leaves_other_addresses_alone(api_client):
    UserFactory(email="driver@example.com")
    for _ in range(2):
        sign_in(api_client, "driver@example.com", REMOTE_ADDR="203.0.113.1")

    response = sign_in(api_client, "driver@example.com", REMOTE_ADDR="203.0.113.2")

    assert response.status_code == 201


@pytest.mark.usefixtures("two_sign_ins_per_minute")
def test_sign_in_throttle_is_not_escaped_by_a_forged_forwarded_for_header(api_client):
    UserFactory(email="driver@example.com")
    for n in range(2):
        sign_in(api_client, "driver@example.com", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    response = sign_in(api_client, "driver@example.com", HTTP_X_FORWARDED_FOR="198.51.100.9")

    assert response.status_code == 429
