"""Schemathesis against the live API and its own schema (``/api/schema/``), with every check:
no server error, and no response the schema contradicts."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.services import issue_token
from accounts.tests.factories import UserFactory
from accounts.throttles import SignInThrottle, SignUpThrottle
from reservations.api import GuestBookingThrottle
from spots.tests.factories import ParkingSpotFactory

# Operations whose schema-valid requests a documented business rule may refuse with a 400 the
# schema cannot state: passwords that match and are right, a start not in the past, a free
# spot, `start` and `end` given together, a radius within 50 km in either unit, an end time
# after the start of a reservation not yet ended. Their 400s are still checked against the
# schema; every other operation must accept every schema-valid request.
BUSINESS_RULE_400 = (
    r"^/(sign-in|sign-up|change-pw|available-parking-spots(-filter)?"
    r"|reservation-(auth|unauth)/\{spot_id\}"
    r"|(update|delete)-reservation-(auth|unauth)/\{reservation_id\}(/\{email\})?)/$"
)
EXAMPLES_PER_OPERATION = 25


def _config(*, token: str, sign_out_token: str) -> str:
    return f"""
[generation]
mode = "all"
max-examples = {EXAMPLES_PER_OPERATION}
deterministic = true
database = "none"

[checks]
enabled = true

[headers]
Authorization = "Token {token}"

[[operations]]
include-path-regex = '{BUSINESS_RULE_400}'
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "400", "401", "403", "404", "409", "429",
]

# Signing out revokes the token it is called with: it gets one of its own.
[[operations]]
include-path = "/sign-out/"
headers = {{ Authorization = "Token {sign_out_token}" }}
"""


@pytest.fixture
def unthrottled(settings, monkeypatch):
    # The fuzzer is one client sending thousands of requests: limits meant for people would
    # answer most of them with 429 and leave the rest of the API untested.
    settings.RESERVATION_UNPAID_HOLDS_PER_EMAIL = 0
    settings.RESERVATION_UNPAID_HOLDS_PER_ADDRESS = 0
    for throttle in (SignInThrottle, SignUpThrottle, GuestBookingThrottle):
        monkeypatch.setattr(throttle, "rate", "100000/s", raising=False)


@pytest.mark.postgres
@pytest.mark.usefixtures("unthrottled")
def test_the_api_keeps_to_its_schema_under_fuzzing(live_server, transactional_db, tmp_path):
    ParkingSpotFactory.create_batch(5)
    driver = UserFactory(email="fuzz@example.com")
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        _config(token=issue_token(user=driver), sign_out_token=issue_token(user=driver))
    )

    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            f"{live_server.url}/api/schema/",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )

    summary = re.search(r"(\d+) generated.*", run.stdout)
    print(summary[0] if summary else run.stdout[-2000:])
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
