"""An account's owner confirms its email address through an emailed link (docs/accounts.md,
"Email verification"): EMAIL_VERIFICATION none, optional (the default) or mandatory."""

import re
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from accounts.models import User
from accounts.services import (
    VERIFY_EMAIL_PURPOSE,
    AlreadyVerified,
    request_email_verification,
)
from accounts.tests.factories import PASSWORD, UserFactory, signed_in_client
from accounts.throttles import ResendVerificationThrottle
from reservations.links import manage_token
from securemyspot.links import signed_token
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db

SUBJECT = "Confirm Your Email Address"
LINK = re.compile(r"http://testserver\.example/account/verify-email/([^/\s\"]+)/")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver.example"


@pytest.fixture
def mailed(mailoutbox, django_capture_on_commit_callbacks):
    """Run ``action`` and deliver what it queued; returns the verification emails sent."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            result = action()
        return result, [message for message in mailoutbox if message.subject == SUBJECT]

    return run


def sign_up(client, email="new@example.com"):
    return client.post(
        "/sign-up/",
        {"credentials": {"email": email, "password": PASSWORD, "password_confirmation": PASSWORD}},
        format="json",
    )


def link_token(message) -> str:
    return LINK.search(message.body).group(1)


def token_for(user: User, *, age: timedelta = timedelta(0)) -> str:
    signed_at = time.time() - age.total_seconds()
    real_time = signing.time.time
    signing.time.time = lambda: signed_at
    try:
        return signed_token([user.pk, user.email], purpose=VERIFY_EMAIL_PURPOSE)
    finally:
        signing.time.time = real_time


def verified(user: User) -> bool:
    user.refresh_from_db()
    return user.email_verified_at is not None


def book(client, spot):
    return client.post(
        f"/reservation-auth/{spot.pk}/", {"reservation": {"reservation_length": 30}}, format="json"
    )


@pytest.fixture
def unverified(db):
    return UserFactory(email="unverified@example.com")


class TestSignUp:
    def test_sends_a_link_and_answers_unverified(self, api_client, mailed):
        response, [message] = mailed(lambda: sign_up(api_client))

        assert response.status_code == 201
        assert response.json()["email_verified"] is False
        assert message.to == ["new@example.com"]
        assert LINK.search(message.body)
        [(html, _)] = message.alternatives
        assert f"/account/verify-email/{link_token(message)}/" in html
        assert "Confirm my email" in html

    def test_the_email_says_until_when_the_link_works_in_new_york_time(self, api_client, mailed):
        _, [message] = mailed(lambda: sign_up(api_client))

        assert re.search(r"works until \w{3} \d+ \w{3} \d{4}, \d+:\d\d [AP]M E[SD]T", message.body)

    def test_with_verification_off_no_email_is_sent_and_all_count_as_confirmed(
        self, api_client, mailed, settings
    ):
        settings.EMAIL_VERIFICATION = "none"

        response, sent = mailed(lambda: sign_up(api_client))

        assert sent == []
        assert response.json()["email_verified"] is True

    def test_sign_in_answers_whether_the_address_is_confirmed(self, api_client, unverified):
        credentials = {"credentials": {"email": unverified.email, "password": PASSWORD}}

        before = api_client.post("/sign-in/", credentials, format="json").json()
        User.objects.filter(pk=unverified.pk).update(email_verified_at=timezone.now())
        after = api_client.post("/sign-in/", credentials, format="json").json()

        assert (before["email_verified"], after["email_verified"]) == (False, True)


class TestLink:
    def test_opening_it_confirms_nothing_yet_and_offers_a_button(self, client, unverified):
        response = client.get(f"/account/verify-email/{token_for(unverified)}/")

        assert response.status_code == 200
        page = response.content.decode()
        assert "Confirm my email" in page
        assert 'method="post"' in page
        assert not verified(unverified)

    def test_the_button_confirms_the_address(self, client, unverified):
        response = client.post(f"/account/verify-email/{token_for(unverified)}/")

        assert response.status_code == 200
        assert "your email address is confirmed" in response.content.decode()
        assert verified(unverified)

    def test_the_emailed_link_works(self, api_client, client, mailed):
        _, [message] = mailed(lambda: sign_up(api_client))

        client.post(f"/account/verify-email/{link_token(message)}/")

        assert verified(User.objects.get(email="new@example.com"))

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_reused_link_says_already_confirmed(self, client, unverified, method):
        token = token_for(unverified)
        client.post(f"/account/verify-email/{token}/")

        response = getattr(client, method)(f"/account/verify-email/{token}/")

        assert response.status_code == 200
        assert "already confirmed" in response.content.decode()

    def test_an_old_link_of_a_confirmed_address_still_says_already_confirmed(
        self, client, unverified
    ):
        User.objects.filter(pk=unverified.pk).update(email_verified_at=timezone.now())

        response = client.get(
            f"/account/verify-email/{token_for(unverified, age=timedelta(days=9))}/"
        )

        assert "already confirmed" in response.content.decode()

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_an_expired_link_confirms_nothing_and_offers_a_new_one(
        self, client, unverified, method
    ):
        token = token_for(unverified, age=timedelta(days=3, minutes=1))

        response = getattr(client, method)(f"/account/verify-email/{token}/")

        assert response.status_code == 410
        page = response.content.decode()
        assert "This link has expired" in page
        assert "Send me a new link" in page
        assert "accounts/verify_email.js" in page
        assert not verified(unverified)

    def test_a_link_a_little_younger_than_three_days_works(self, client, unverified):
        client.post(
            f"/account/verify-email/{token_for(unverified, age=timedelta(days=2, hours=23))}/"
        )

        assert verified(unverified)

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_tampered_link_confirms_nothing(self, client, unverified, method):
        token = token_for(unverified)
        tampered = ("A" if token[0] != "A" else "B") + token[1:]

        response = getattr(client, method)(f"/account/verify-email/{tampered}/")

        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
        assert not verified(unverified)

    def test_a_link_signed_for_another_purpose_confirms_nothing(self, client, unverified):
        response = client.post(f"/account/verify-email/{manage_token(unverified.pk)}/")

        assert response.status_code == 404
        assert not verified(unverified)

    def test_a_link_to_an_address_the_account_no_longer_has_confirms_nothing(
        self, client, unverified
    ):
        token = token_for(unverified)
        User.objects.filter(pk=unverified.pk).update(email="changed@example.com")

        assert client.post(f"/account/verify-email/{token}/").status_code == 404
        assert not verified(unverified)

    def test_the_page_is_the_web_apps(self, client, unverified):
        page = client.get(f"/account/verify-email/{token_for(unverified)}/").content.decode()

        assert "/static/web/app.css" in page
        assert 'id="main"' in page


class TestMe:
    def test_says_who_is_signed_in_and_the_setting(self, unverified):
        client, _ = signed_in_client(unverified)

        assert client.get("/me/").json() == {
            "email": "unverified@example.com",
            "email_verified": False,
            "email_verification": "optional",
        }

    def test_needs_a_token(self, api_client):
        assert api_client.get("/me/").status_code == 401


class TestResend:
    def test_sends_a_new_link(self, unverified, mailed):
        client, _ = signed_in_client(unverified)

        response, [message] = mailed(lambda: client.post("/resend-verification/"))

        assert response.status_code == 202
        assert "unverified@example.com" in response.json()["detail"]
        assert message.to == ["unverified@example.com"]
        assert LINK.search(message.body)

    def test_is_limited_per_account(self, unverified, mailed, monkeypatch):
        monkeypatch.setattr(ResendVerificationThrottle, "rate", "2/hour", raising=False)
        client, _ = signed_in_client(unverified)
        other, _ = signed_in_client(UserFactory())

        answers, sent = mailed(lambda: [client.post("/resend-verification/") for _ in range(3)])

        assert [answer.status_code for answer in answers] == [202, 202, 429]
        assert int(answers[2]["Retry-After"]) > 0
        assert len(sent) == 2
        assert other.post("/resend-verification/").status_code == 202

    def test_a_confirmed_address_gets_none(self, unverified, mailed):
        User.objects.filter(pk=unverified.pk).update(email_verified_at=timezone.now())
        client, _ = signed_in_client(unverified)

        response, sent = mailed(lambda: client.post("/resend-verification/"))

        assert response.status_code == 409
        assert response.json() == {"email": ["Your email address is already confirmed."]}
        assert sent == []

    def test_needs_a_token(self, api_client):
        assert api_client.post("/resend-verification/").status_code == 401


class TestBooking:
    @pytest.fixture
    def spot(self, db):
        return ParkingSpotFactory()

    def test_mandatory_refuses_an_unconfirmed_account(self, settings, unverified, spot):
        settings.EMAIL_VERIFICATION = "mandatory"
        client, _ = signed_in_client(unverified)

        response = book(client, spot)

        assert response.status_code == 403
        [message] = response.json()["email_unverified"]
        assert message.startswith("Confirm your email address before booking")

    def test_mandatory_books_once_confirmed(self, settings, unverified, spot, client):
        settings.EMAIL_VERIFICATION = "mandatory"
        client.post(f"/account/verify-email/{token_for(unverified)}/")
        api, _ = signed_in_client(unverified)

        assert book(api, spot).status_code == 201

    def test_mandatory_leaves_guests_alone(self, settings, spot, api_client):
        settings.EMAIL_VERIFICATION = "mandatory"

        response = api_client.post(
            f"/reservation-unauth/{spot.pk}/",
            {"reservation": {"email": "guest@example.com", "reservation_length": 30}},
            format="json",
        )

        assert response.status_code == 201

    @pytest.mark.parametrize("mode", ["none", "optional"])
    def test_other_modes_let_an_unconfirmed_account_book(self, settings, unverified, spot, mode):
        settings.EMAIL_VERIFICATION = mode
        client, _ = signed_in_client(unverified)

        assert book(client, spot).status_code == 201


def test_a_resend_from_the_service_is_refused_with_verification_off(settings, unverified):
    settings.EMAIL_VERIFICATION = "none"

    with pytest.raises(AlreadyVerified):
        request_email_verification(user=unverified)
