"""The production example passes Django's deployment checklist, with nothing but a real secret
key, host name and Stripe keys added (the values no example may hold)."""

import secrets

from django.conf import settings

from securemyspot.tests.test_configuration import run_in_checkout

PRODUCTION_EXAMPLE = settings.BASE_DIR / ".env.production.example"


def example_settings() -> dict[str, str]:
    lines = PRODUCTION_EXAMPLE.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def test_the_example_holds_no_secret():
    example = example_settings()

    for name in ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        assert example[name] == ""


def test_the_production_example_passes_check_deploy(tmp_path):
    variables = {
        **example_settings(),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "parking.example.com",
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12),
        "STRIPE_PUBLISHABLE_KEY": "pk_test_" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(12),
    }

    process = run_in_checkout(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, variables
    )

    assert process.returncode == 0, process.stderr
