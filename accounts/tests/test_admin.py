import pytest
from django.utils import timezone

from accounts.models import User
from accounts.services import issue_token
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.throttles import AdminLoginThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/",
        "/admin/accounts/user/?q=driver&is_staff__exact=0&is_active__exact=1",
        "/admin/accounts/user/add/",
        "/admin/accounts/authtoken/",
    ],
)
def test_admin_pages_load_for_a_superuser(admin_client, path):
    issue_token(user=UserFactory())

    assert admin_client.get(path).status_code == 200


def test_admin_user_change_page_loads(admin_client):
    user = UserFactory()

    assert admin_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200


def test_admin_user_search_finds_by_email(admin_client):
    UserFactory(email="findme@example.com")
    UserFactory(email="other@example.com")

    response = admin_client.get("/admin/accounts/user/", {"q": "FINDME"})

    assert list(response.context["cl"].result_list) == [
        User.objects.get(email="findme@example.com")
    ]


def test_admin_adds_a_user_by_email_lower_cased(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Driver@Example.com",
            "usable_password": "true",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="new.driver@example.com").check_password(
        "a long enough passphrase"
    )


def test_admin_refuses_a_user_whose_email_is_taken_in_another_case(admin_client):
    UserFactory(email="taken@example.com")

    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "TAKEN@example.com",
            "usable_password": "true",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_admin_token_list_offers_no_adding_or_editing(admin_client):
    user = UserFactory()
    issue_token(user=user)
    token_pk = user.auth_tokens.get().pk

    assert admin_client.get("/admin/accounts/authtoken/add/").status_code == 403
    page = admin_client.get(f"/admin/accounts/authtoken/{token_pk}/change/")
    assert page.status_code == 200
    assert b"digest" not in page.content.lower()
    assert not page.context["has_change_permission"]


def admin_sign_in(client, username, password="wrong", **extra):
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, **extra
    )


def test_admin_sign_in_is_throttled_per_address_and_username(client, monkeypatch):
    monkeypatch.setattr(AdminLoginThrottle, "rate", "2/min", raising=False)
    staff = UserFactory(is_staff=True, is_superuser=True)
    for _ in range(2):
        assert admin_sign_in(client, staff.email).status_code == 200  # the form, with its error

    refused = admin_sign_in(client, staff.email, password=PASSWORD)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_admin_sign_in_throttle_leaves_other_usernames_and_addresses_alone(client, monkeypatch):
    monkeypatch.setattr(AdminLoginThrottle, "rate", "1/min", raising=False)
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin_sign_in(client, staff.email)

    assert admin_sign_in(client, "other@example.com").status_code == 200
    signed_in = admin_sign_in(client, staff.email, password=PASSWORD, REMOTE_ADDR="203.0.113.5")
    assert signed_in.status_code == 302


def test_admin_sign_in_form_is_not_throttled(client, monkeypatch):
    monkeypatch.setattr(AdminLoginThrottle, "rate", "1/min", raising=False)

    assert {client.get("/admin/login/").status_code for _ in range(3)} == {200}


def change_email(admin_client, user: User, email: str, **fields):
    joined = user.date_joined
    return admin_client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "email": email,
            "is_active": "on",
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
            **fields,
        },
    )


def test_admin_changing_an_email_leaves_the_new_address_unconfirmed(admin_client):
    user = UserFactory(email="old@example.com", email_verified_at=timezone.now())

    response = change_email(
        admin_client,
        user,
        "new@example.com",
        email_verified_at_0=user.email_verified_at.strftime("%Y-%m-%d"),
        email_verified_at_1=user.email_verified_at.strftime("%H:%M:%S"),
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.email, user.email_verified_at) == ("new@example.com", None)


def test_admin_may_confirm_an_address_by_hand(admin_client):
    user = UserFactory(email="old@example.com")

    change_email(
        admin_client,
        user,
        "old@example.com",
        email_verified_at_0="2026-01-02",
        email_verified_at_1="03:04:05",
    )

    user.refresh_from_db()
    assert user.email_verified_at is not None
