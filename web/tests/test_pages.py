"""The driver's page shells: each served with its module, its config, and no inline code."""

import json
import re

import pytest

PAGES = {
    "/reservations/123/": "web/reservation.js",
    "/account/reservations/": "web/my-reservations.js",
    "/account/": "web/account.js",
    "/account/sign-in/": "web/sign-in.js",
    "/account/sign-up/": "web/sign-in.js",
}


def page_config(html: str) -> dict:
    [config] = re.findall(r'<script id="page-config" type="application/json">(.*?)</script>', html)
    return json.loads(config)


@pytest.mark.parametrize(("path", "module"), PAGES.items())
def test_serves_the_page_with_its_module(client, path, module):
    response = client.get(path)

    assert response.status_code == 200
    assert f'<script type="module" src="/static/{module}">' in response.content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_is_served_without_its_trailing_slash_too(client, path):
    assert client.get(path.rstrip("/")).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_has_no_inline_styles_or_scripts(client, path):
    html = client.get(path).content.decode()

    assert "<style" not in html
    assert " style=" not in html
    assert re.findall(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))", html) == []


def test_the_reservation_page_is_given_its_id(client, settings):
    settings.REMINDER_MINUTES_BEFORE_END = 2

    config = page_config(client.get("/reservations/9007199254740991/").content.decode())

    assert config["reservation_id"] == 9007199254740991
    assert config["guest_email"] is None
    assert config["reminder_minutes"] == 2


@pytest.mark.parametrize(
    ("given", "next_path"),
    [
        ("/reservations/5/", "/reservations/5/"),
        ("/account/reservations/?x=1", "/account/reservations/?x=1"),
        ("https://evil.example/", "/account/"),
        ("//evil.example/", "/account/"),
        ("/\\evil.example/", "/account/"),
        ("javascript:alert(1)", "/account/"),
        ("", "/account/"),
    ],
)
def test_signing_in_leads_back_to_a_path_of_this_site_only(client, given, next_path):
    for page in ("/account/sign-in/", "/account/sign-up/"):
        html = client.get(page, {"next": given}).content.decode()

        assert page_config(html)["next"] == next_path
