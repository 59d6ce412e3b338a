import base64
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuthToken
from accounts.services import authenticate_token, issue_token
from accounts.tests.factories import PASSWORD, UserFactory, signed_in_client

pytestmark = pytest.mark.django_db


def client_with(authorization: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def idle_for(token: AuthToken, idle: timedelta) -> None:
    AuthToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - idle)


def use(client: APIClient) -> None:
    # Any authenticated request will do; this one is refused after authentication, so it
    # changes nothing but the token's last use.
    client.patch("/change-pw/", {}, format="json")


@pytest.mark.parametrize("keyword", ["Token", "token", "TOKEN"])
def test_token_keyword_is_accepted_in_any_case(keyword):
    key = issue_token(user=UserFactory())

    response = client_with(f"{keyword} {key}").delete("/sign-out/")

    assert response.status_code == 204


def test_only_a_sha256_digest_of_the_key_is_stored():
    key = issue_token(user=UserFactory())

    assert AuthToken.objects.get().digest == hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.parametrize(
    "authorization",
    ["Token 0123456789abcdef0123456789abcdef01234567", "Token", "Token a b", "Bearer x"],
    ids=["unknown-key", "no-key", "two-keys", "other-scheme"],
)
def test_a_bad_authorization_header_is_401(authorization):
    response = client_with(authorization).delete("/sign-out/")

    assert response.status_code == 401
    assert "detail" in response.json()


def test_http_basic_is_not_accepted():
    UserFactory(email="driver@example.com")
    basic = base64.b64encode(f"driver@example.com:{PASSWORD}".encode()).decode()

    response = client_with(f"Basic {basic}").delete("/sign-out/")

    assert response.status_code == 401


def test_an_admin_session_does_not_sign_in_to_the_api(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.delete("/sign-out/")

    assert response.status_code == 401


def test_a_token_idle_for_longer_than_the_timeout_is_401_and_deleted(settings):
    client, token = signed_in_client(UserFactory())
    idle_for(token, timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS + 1))

    response = client.delete("/sign-out/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired."}
    assert not AuthToken.objects.filter(pk=token.pk).exists()


def test_a_token_used_within_the_timeout_still_works(settings):
    client, token = signed_in_client(UserFactory())
    idle_for(token, timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS - 60))

    assert client.delete("/sign-out/").status_code == 204


def test_using_a_token_renews_it():
    client, token = signed_in_client(UserFactory())
    idle_for(token, timedelta(hours=23))
    before = timezone.now()

    use(client)

    token.refresh_from_db()
    assert token.last_used_at >= before


def test_a_token_in_regular_use_outlives_the_timeout(settings):
    user = UserFactory()
    key = issue_token(user=user)
    almost_timeout = timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS - 60)
    now = timezone.now()

    authenticate_token(key=key, now=now + almost_timeout)

    assert authenticate_token(key=key, now=now + 2 * almost_timeout)[0] == user


def test_a_token_used_within_the_last_minute_is_not_rewritten():
    client, token = signed_in_client(UserFactory())
    idle_for(token, timedelta(seconds=10))
    token.refresh_from_db()
    last_used = token.last_used_at

    use(client)

    token.refresh_from_db()
    assert token.last_used_at == last_used


def test_a_revoked_token_is_401():
    client, token = signed_in_client(UserFactory())
    token.delete()

    response = client.delete("/sign-out/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_token_of_a_deactivated_user_is_401():
    user = UserFactory()
    client, _ = signed_in_client(user)
    user.is_active = False
    user.save()

    response = client.delete("/sign-out/")

    assert response.status_code == 401
