"""Every response carries a Content-Security-Policy that runs no inline script or style
(docs/web.md), and the pages still render under it: their scripts and styles are files."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loaders.app_directories import get_app_template_dirs

from accounts.tests.factories import UserFactory
from payments.links import pay_token
from payments.services import charging
from payments.tests.charging import DECLINED_WHEN_CHARGED, ended_with_card_in_sandbox
from securemyspot.content_policy import directives
from securemyspot.tests.test_configuration import run_in_checkout

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"

# Emails are not pages: mail clients ignore stylesheets, so their templates style inline.
EMAIL_TEMPLATES = "notifications"
INLINE = {
    "a <style> block": re.compile(r"<style[\s>]", re.I),
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "an event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    # A <script> with neither src nor a data type (json_script writes application/json).
    "an inline script": re.compile(r"<script(?![^>]*\b(src|type=\"application/json\")\b)[^>]*>"),
}


def policy(response) -> dict[str, list[str]]:
    header = response[HEADER]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def page_templates() -> list[Path]:
    templates = []
    for folder in get_app_template_dirs("templates"):
        if not str(folder).startswith(str(settings.BASE_DIR)) or ".venv" in folder.parts:
            continue
        for template in folder.rglob("*.html"):
            name = template.relative_to(folder).as_posix()
            if name.split("/")[0] != EMAIL_TEMPLATES:
                templates.append(template)
    return templates


@pytest.fixture
def declined_pay_page(settings) -> str:
    settings.PAYMENT_GATEWAY = "sandbox"
    reservation = ended_with_card_in_sandbox(card=DECLINED_WHEN_CHARGED)
    charging.charge_for_reservation(reservation_id=reservation.pk)
    return f"/pay/{pay_token(reservation.pk)}/"


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


class TestHeader:
    @pytest.mark.parametrize(
        "path", ["/", "/api/docs/", "/admin/login/", "/available-parking-spots"]
    )
    def test_pages_and_api_answers_carry_it(self, client, path):
        response = client.get(path)

        assert response.status_code == 200
        assert "'unsafe-inline'" not in response[HEADER]
        assert "'unsafe-eval'" not in response[HEADER]

    def test_the_payment_page_carries_it_and_renders(self, client, declined_pay_page):
        response = client.get(declined_pay_page)

        assert response.status_code == 200
        assert "'unsafe-inline'" not in response[HEADER]
        assert 'href="/static/payments/pay.css"' in response.content.decode()
        assert client.get("/static/payments/pay.css").status_code == 200

    def test_an_error_page_carries_it(self, client):
        assert client.get("/no-such-page/").status_code == 404
        assert "'unsafe-inline'" not in client.get("/no-such-page/")[HEADER]

    def test_the_directives_are_the_plans(self, client):
        directives_sent = policy(client.get("/"))

        assert directives_sent["default-src"] == ["'self'"]
        assert directives_sent["script-src"] == ["'self'"]
        assert directives_sent["style-src"] == ["'self'"]
        assert directives_sent["object-src"] == ["'none'"]
        assert directives_sent["base-uri"] == ["'self'"]
        assert directives_sent["form-action"] == ["'self'"]
        assert directives_sent["frame-ancestors"] == ["'none'"]
        assert directives_sent["img-src"] == ["'self'", "data:", "https://tile.openstreetmap.org"]

    def test_the_live_sockets_of_the_pages_host_may_be_reached(self, client):
        sent = policy(client.get("/", HTTP_HOST="localhost:8123"))

        assert sent["connect-src"] == ["'self'", "ws://localhost:8123"]

    def test_over_https_the_sockets_are_wss(self, client):
        sent = policy(client.get("/", HTTP_HOST="localhost", secure=True))

        assert sent["connect-src"] == ["'self'", "wss://localhost"]

    def test_a_host_not_allowed_is_never_written_into_it(self, client):
        response = client.get("/", HTTP_HOST="evil.example;script-src*")

        assert response.status_code == 400
        assert "evil" not in response[HEADER]


class TestSources:
    def test_the_tile_servers_origin_may_serve_images(self):
        policy = directives(map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png", stripe=False)

        assert policy["img-src"] == ["'self'", "data:", "https://tiles.example.org"]

    def test_tile_subdomains_become_a_wildcard(self):
        policy = directives(
            map_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png", stripe=False
        )

        assert "https://*.tile.example.org" in policy["img-src"]

    def test_without_stripe_no_stripe_host_is_allowed(self):
        policy = directives(map_tile_url=settings.MAP_TILE_URL, stripe=False)

        assert "stripe" not in repr(policy)
        assert "frame-src" not in policy

    def test_with_stripe_its_script_frames_and_api_are_allowed(self):
        policy = directives(map_tile_url=settings.MAP_TILE_URL, stripe=True)

        assert "https://js.stripe.com" in policy["script-src"]
        assert "https://js.stripe.com" in policy["frame-src"]
        assert "https://api.stripe.com" in policy["connect-src"]

    def test_the_stripe_gateway_setting_turns_stripes_hosts_on(self, tmp_path):
        code = (
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'])"
        )
        base = {"SECRET_KEY": "x" * 50, "DEBUG": "false"}

        with_stripe = run_in_checkout(
            ["-c", code],
            tmp_path,
            {**base, "PAYMENT_GATEWAY": "stripe", "STRIPE_SECRET_KEY": "sk_test_x"},
        )
        in_sandbox = run_in_checkout(["-c", code], tmp_path, {**base, "PAYMENT_GATEWAY": "sandbox"})

        assert "https://js.stripe.com" in with_stripe.stdout, with_stripe.stderr
        assert "stripe" not in in_sandbox.stdout, in_sandbox.stderr


class TestPages:
    def test_no_page_template_holds_inline_script_or_style(self):
        templates = page_templates()
        found = [
            f"{template}: {what}"
            for template in templates
            for what, pattern in INLINE.items()
            if pattern.search(template.read_text())
        ]

        assert templates
        assert found == []

    def test_swagger_ui_loads_its_start_up_script_from_a_url(self, client):
        page = client.get("/api/docs/").content.decode()
        script = client.get("/api/docs/?script=")

        assert '<script src="/api/docs/?script="></script>' in page
        assert "<style" not in page
        assert script.status_code == 200
        assert script["Content-Type"].startswith("application/javascript")

    def test_the_admin_renders_a_changelist_under_it(self, staff_client):
        response = staff_client.get("/admin/reservations/reservation/")

        assert response.status_code == 200
        assert "'unsafe-inline'" not in response[HEADER]
