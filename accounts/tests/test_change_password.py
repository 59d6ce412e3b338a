import pytest

from accounts.models import AuthToken
from accounts.tests.factories import PASSWORD, UserFactory, signed_in_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase"


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirmed=None, **extra):
    credentials = {
        "password": current,
        "new_password": new,
        "new_password_confirmed": new if confirmed is None else confirmed,
        **extra,
    }
    return client.patch("/change-pw/", {"credentials": credentials}, format="json")


def test_change_password_sets_the_new_password():
    user = UserFactory()
    client, _ = signed_in_client(user)

    response = change_password(client)

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)


def test_change_password_works_without_trailing_slash():
    client, _ = signed_in_client(UserFactory())
    credentials = {
        "password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirmed": NEW_PASSWORD,
    }

    response = client.patch("/change-pw", {"credentials": credentials}, format="json")

    assert response.status_code == 204


def test_change_password_signs_out_other_devices_but_not_this_one():
    user = UserFactory()
    laptop, _ = signed_in_client(user)
    phone, phone_token = signed_in_client(user)

    change_password(laptop)

    assert not AuthToken.objects.filter(pk=phone_token.pk).exists()
    assert phone.delete("/sign-out/").status_code == 401
    assert laptop.delete("/sign-out/").status_code == 204


def test_change_password_leaves_other_users_signed_in():
    client, _ = signed_in_client(UserFactory())
    _, bystander_token = signed_in_client(UserFactory())

    change_password(client)

    assert AuthToken.objects.filter(pk=bystander_token.pk).exists()


def test_change_password_rejects_a_wrong_current_password():
    user = UserFactory()
    client, _ = signed_in_client(user)

    response = change_password(client, current="not my password")

    assert response.status_code == 400
    assert list(response.json()) == ["password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_password_checks_the_callers_password_not_the_account_the_body_names():
    caller = UserFactory(password="the callers own password")
    victim = UserFactory(email="victim@example.com")
    client, _ = signed_in_client(caller)

    response = change_password(client, current=PASSWORD, email="victim@example.com")

    assert response.status_code == 400
    assert list(response.json()) == ["password"]
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)


def test_change_password_ignores_an_email_in_the_body():
    user = UserFactory()
    client, _ = signed_in_client(user)

    response = change_password(client, email="someone.else@example.com")

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_change_password_rejects_mismatched_confirmation():
    user = UserFactory()
    client, _ = signed_in_client(user)

    response = change_password(client, confirmed="a different new passphrase")

    assert response.status_code == 400
    assert response.json() == {"password_error": ["Passwords do not match"]}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize("new", ["short", "password123", "98765432109876"])
def test_change_password_applies_the_password_validators_to_the_new_password(new):
    client, _ = signed_in_client(UserFactory())

    response = change_password(client, new=new)

    assert response.status_code == 400
    assert list(response.json()) == ["new_password"]


def test_change_password_refuses_a_new_password_like_the_email():
    client, _ = signed_in_client(UserFactory(email="jane.doe.driver@example.com"))

    response = change_password(client, new="jane.doe.driver")

    assert response.status_code == 400
    assert list(response.json()) == ["new_password"]


def test_change_password_requires_a_token(api_client):
    response = change_password(api_client)

    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.parametrize("missing", ["password", "new_password", "new_password_confirmed"])
def test_change_password_names_a_missing_credential(missing):
    client, _ = signed_in_client(UserFactory())
    credentials = {
        "password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirmed": NEW_PASSWORD,
    }
    del credentials[missing]

    response = client.patch("/change-pw/", {"credentials": credentials}, format="json")

    assert response.status_code == 400
    assert response.json() == {missing: ["This field is required."]}


@pytest.mark.parametrize("body", [{}, {"password": PASSWORD}, {"credentials": "x"}, []], ids=str)
def test_change_password_names_the_envelope_when_it_is_missing_or_not_an_object(body):
    client, _ = signed_in_client(UserFactory())

    response = client.patch("/change-pw/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["credentials"]


def test_change_password_rejects_malformed_json():
    client, _ = signed_in_client(UserFactory())

    response = client.patch("/change-pw/", "not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_change_password_answers_other_methods_with_405():
    client, _ = signed_in_client(UserFactory())

    response = client.post("/change-pw/", {}, format="json")

    assert response.status_code == 405
