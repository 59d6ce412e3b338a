"""Start-up with a malformed setting stops with one line naming the variable and what it
expects; each case starts the settings in a process of its own, as a server would."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

from securemyspot import config

START = "import django; django.setup(); from django.conf import settings; print({})"


def start(tmp_path, print_expression: str = "'started'", **variables: str):
    """Django set up in a subprocess with only ``variables`` as configuration (on the embedded
    defaults otherwise, data in ``tmp_path``)."""
    return run_in_checkout(["-c", START.format(print_expression)], tmp_path, variables)


def run_in_checkout(
    arguments: list[str], data_dir, variables: dict[str, str]
) -> subprocess.CompletedProcess:
    """This Python run in the checkout with ``variables`` as its whole configuration."""
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "securemyspot.settings",
        "DATA_DIR": str(data_dir),
        **variables,
    }
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def error_line(process: subprocess.CompletedProcess) -> str:
    assert process.returncode != 0, process.stdout
    return process.stderr.strip().splitlines()[-1]


def production(**variables: str) -> dict[str, str]:
    return {"SECRET_KEY": "a-test-secret-key-" + "x" * 40, "PAYMENT_GATEWAY": "sandbox"} | variables


MALFORMED = [
    pytest.param(
        {"DATABASE_URL": ""},
        "DATABASE_URL: expected a database URL such as postgres://user:pass@host:5432/name, got ''",
        id="empty-database-url",
    ),
    pytest.param(
        {"DATABASE_URL": "postgress://app:hunter2@db/app"},
        "DATABASE_URL: expected a database URL such as postgres://user:pass@host:5432/name, "
        "got 'postgress://app:***@db/app'",
        id="database-url-scheme-and-password-hidden",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": "rabbitmq.internal:5672"},
        "CELERY_BROKER_URL: expected a Celery broker URL such as amqp://user:pass@host:5672// "
        "or filesystem://, got 'rabbitmq.internal:5672'",
        id="broker-url",
    ),
    pytest.param(
        {"REDIS_URL": "http://127.0.0.1:6379"},
        "REDIS_URL: expected a Redis URL such as redis://host:6379/0, or nothing, "
        "got 'http://127.0.0.1:6379'",
        id="redis-url",
    ),
    pytest.param(
        {"EMAIL_URL": "smtp.example.com"},
        "EMAIL_URL: expected an email URL such as smtp+tls://user:pass@host:587 or "
        "consolemail://, got 'smtp.example.com'",
        id="email-url",
    ),
    pytest.param(
        {"NUM_PROXIES": "one"},
        "NUM_PROXIES: expected a whole number of at least 0, got 'one'",
        id="whole-number",
    ),
    pytest.param(
        {"RESERVATION_HOLD_MINUTES": "-5"},
        "RESERVATION_HOLD_MINUTES: expected a whole number of at least 1, got '-5'",
        id="negative-number",
    ),
    pytest.param(
        {"ENGINE_SWEEP_SECONDS": "nan"},
        "ENGINE_SWEEP_SECONDS: expected a number of at least 0.01, got 'nan'",
        id="decimal-number",
    ),
    pytest.param(
        {"DEBUG": "ture"},
        "DEBUG: expected true or false (also 1/0, yes/no, on/off), got 'ture'",
        id="boolean",
    ),
    pytest.param(
        {"THROTTLE_SIGN_IN": "10 a minute"},
        "THROTTLE_SIGN_IN: expected a rate such as 10/min (per s, min, hour or day), or off, "
        "got '10 a minute'",
        id="throttle-rate",
    ),
    pytest.param(
        {"SITE_URL": "parking.example.com"},
        "SITE_URL: expected the address people reach this service at, such as https://host, "
        "got 'parking.example.com'",
        id="site-url",
    ),
    pytest.param(
        {"MAP_TILE_URL": "https://tiles.example.com/tile.png"},
        "MAP_TILE_URL: expected a tile URL template such as https://host/{z}/{x}/{y}.png, "
        "got 'https://tiles.example.com/tile.png'",
        id="tile-url",
    ),
    pytest.param(
        {"PAYMENT_GATEWAY": "paypal"},
        "PAYMENT_GATEWAY: expected 'sandbox' or 'stripe', got 'paypal'",
        id="payment-gateway",
    ),
    pytest.param(
        {"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"},
        "SECURE_PROXY_SSL_HEADER: expected a header and its value such as "
        "HTTP_X_FORWARDED_PROTO,https, got 'X-Forwarded-Proto'",
        id="proxy-ssl-header",
    ),
]


@pytest.mark.parametrize(("variables", "line"), MALFORMED)
def test_a_malformed_setting_stops_start_up_naming_it(tmp_path, variables, line):
    process = start(tmp_path, **production(**variables))

    assert error_line(process) == f"django.core.exceptions.ImproperlyConfigured: {line}"
    assert "hunter2" not in process.stderr


def test_without_debug_start_up_needs_a_secret_key_from_the_environment(tmp_path):
    process = start(tmp_path, PAYMENT_GATEWAY="sandbox")

    assert error_line(process).endswith(
        "SECRET_KEY: expected a long random secret in the environment when DEBUG is false, got ''"
    )
    assert not (tmp_path / "secret_key").exists()


def test_without_debug_payments_fail_closed_when_stripe_keys_are_missing(tmp_path):
    process = start(tmp_path, SECRET_KEY="a-test-secret-key-" + "x" * 40)

    assert error_line(process).endswith(
        "STRIPE_SECRET_KEY: expected a Stripe secret key (sk_...) as PAYMENT_GATEWAY is stripe "
        "(PAYMENT_GATEWAY=sandbox takes test cards instead, for demos), got ''"
    )


def test_the_sandbox_runs_without_debug_only_when_chosen_by_name(tmp_path):
    process = start(tmp_path, "settings.PAYMENT_GATEWAY", **production())

    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "sandbox"


def test_a_debug_run_needs_no_configuration(tmp_path):
    process = start(tmp_path, "settings.PAYMENT_GATEWAY", DEBUG="true")

    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "sandbox"


def test_a_stripe_key_selects_stripe_by_default(tmp_path):
    process = start(
        tmp_path,
        "settings.PAYMENT_GATEWAY",
        SECRET_KEY="a-test-secret-key-" + "x" * 40,
        STRIPE_SECRET_KEY="sk_test_123",
    )

    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "stripe"


def test_links_in_emails_follow_the_port_the_service_listens_on(tmp_path):
    process = start(tmp_path, "settings.SITE_URL", **production(PORT="8123"))

    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "http://127.0.0.1:8123"


def test_an_explicit_site_url_wins_over_the_port(tmp_path):
    process = start(
        tmp_path,
        "settings.SITE_URL",
        **production(PORT="8123", SITE_URL="https://parking.example.com"),
    )

    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "https://parking.example.com"


def test_env_example_lists_every_setting_the_settings_read():
    source = (settings.BASE_DIR / "securemyspot" / "settings.py").read_text()
    read = set(re.findall(r'(?:env|config\.\w+)(?:\.\w+)?\(\s*"([A-Z_]+)"', source))
    example = (settings.BASE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^# ([A-Z_]+)=", example, flags=re.MULTILINE))

    assert read - listed == set()


def test_a_throttle_set_off_lets_every_request_through(monkeypatch):
    monkeypatch.setenv("THROTTLE_GUEST_BOOKING", "off")

    assert config.throttle_rate("THROTTLE_GUEST_BOOKING", default="30/min") is None
