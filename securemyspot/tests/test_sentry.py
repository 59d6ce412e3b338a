"""Sentry is off unless SENTRY_DSN is set; when on, it is sent no personal data."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from securemyspot.sentry import init_sentry

REPO = Path(__file__).resolve().parents[2]


class KeptEvents(Transport):
    """Keeps what would be sent to Sentry, and sends nothing."""

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope)


@pytest.fixture
def sentry():
    transport = KeptEvents()
    init_sentry(dsn="https://public@sentry.example.test/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.init()  # no DSN: off again for the other tests


def test_sentry_is_off_without_a_dsn():
    env = {key: value for key, value in os.environ.items() if key != "SENTRY_DSN"}
    probe = (
        "import django; django.setup(); import sentry_sdk; "
        "print(sentry_sdk.get_client().is_active())"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "securemyspot.settings"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "False"


def test_sentry_is_configured_from_the_dsn_without_personal_data(sentry):
    options = sentry_sdk.get_client().options

    assert sentry_sdk.get_client().is_active()
    assert options["dsn"] == "https://public@sentry.example.test/1"
    assert not options["send_default_pii"]
    integrations = {type(i).__name__ for i in sentry_sdk.get_client().integrations.values()}
    assert {"DjangoIntegration", "CeleryIntegration"} <= integrations


def test_an_error_report_is_masked_like_the_logs(sentry):
    try:
        raise ValueError("no reservation for jane.doe@example.com with ?token=abc123")
    except ValueError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()

    [envelope] = sentry.envelopes
    sent = envelope.serialize().decode()
    assert "jane.doe" not in sent
    assert "abc123" not in sent
    assert "j***@example.com" in sent
