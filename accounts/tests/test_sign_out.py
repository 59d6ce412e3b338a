import pytest

from accounts.models import AuthToken
from accounts.tests.factories import UserFactory, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/sign-out/", "/sign-out"])
def test_sign_out_revokes_the_token_used(path):
    client, token = signed_in_client(UserFactory())

    response = client.delete(path)

    assert response.status_code == 204
    assert not AuthToken.objects.filter(pk=token.pk).exists()
    assert client.delete(path).status_code == 401


def test_sign_out_keeps_the_users_other_devices_signed_in():
    user = UserFactory()
    phone, _ = signed_in_client(user)
    laptop, laptop_token = signed_in_client(user)

    phone.delete("/sign-out/")

    assert AuthToken.objects.filter(pk=laptop_token.pk).exists()
    assert laptop.delete("/sign-out/").status_code == 204


@pytest.mark.parametrize("path", ["/sign-out/", "/sign-out"])
def test_sign_out_without_a_token_is_401_naming_the_scheme(api_client, path):
    response = api_client.delete(path)

    assert response.status_code == 401
    assert "detail" in response.json()
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("path", ["/sign-out/", "/sign-out"])
@pytest.mark.parametrize("method", ["get", "post", "patch"])
def test_sign_out_answers_other_methods_with_405(path, method):
    client, token = signed_in_client(UserFactory())

    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert "detail" in response.json()
    assert AuthToken.objects.filter(pk=token.pk).exists()
