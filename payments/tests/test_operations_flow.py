"""A whole driver's day through the API (sign-up, bookings as account and guest, card setup,
Stripe's webhook, ending, the charge) with every log record captured at the root, and the
access log line of every request: no secret or full email may appear in any of them. The same
flow then shows in /metrics."""

import json
import logging
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import Charge
from payments.tests.fake_stripe import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    event_payload,
    setup_intent_id_of,
    signed_event,
)
from reservations.models import Reservation
from securemyspot.tests.access_log import access_log_lines
from securemyspot.tests.log_capture import capture_log_lines
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db(transaction=True)

CARD = "4242424242424242"
PASSWORD = "kerb-side-secret-42"
METRICS_TOKEN = "metrics-token-for-tests"


class RecordingClient:
    """An API client that remembers each request, for the access log lines it would make."""

    def __init__(self) -> None:
        self.client = APIClient()
        self.headers: dict[str, str] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def authenticate(self, token: str) -> None:
        self.headers = {"Authorization": f"Token {token}"}

    def call(self, method: str, uri: str, body: object = None, headers: dict | None = None):
        headers = {**self.headers, **(headers or {})}
        self.requests.append((method.upper(), uri, headers))
        send = getattr(self.client, method)
        if isinstance(body, bytes):
            return send(uri, data=body, content_type="application/json", headers=headers)
        return send(uri, body, format="json", headers=headers)


@pytest.fixture
def every_log_line():
    with capture_log_lines(level=logging.DEBUG) as lines:
        yield lines


def drive_a_whole_flow(fake_stripe, capture_on_commit) -> tuple[RecordingClient, dict[str, str]]:
    """Returns the client and the secrets and personal data the flow handled, by name."""
    driver_email = f"driver.{uuid.uuid4().hex[:8]}@example.com"
    guest_email = f"guest.{uuid.uuid4().hex[:8]}@example.org"
    api = RecordingClient()
    own_spot, guest_spot = ParkingSpotFactory(rate="6.00"), ParkingSpotFactory(rate="6.00")

    credentials = {"email": driver_email, "password": PASSWORD, "password_confirmation": PASSWORD}
    signed_up = api.call("post", "/sign-up/", {"credentials": credentials})
    assert signed_up.status_code == 201
    token = signed_up.json()["token"]
    api.authenticate(token)

    booked = api.call(
        "post", f"/reservation-auth/{own_spot.pk}/", {"reservation": {"reservation_length": 120}}
    )
    assert booked.status_code == 201
    own_id = booked.json()["id"]
    secret = api.call("post", f"/create-payment-intent-auth/{own_id}/").json()["clientSecret"]
    fake_stripe.save_card(secret, CARD)
    payload = event_payload(
        f"evt_{uuid.uuid4().hex}",
        "setup_intent.succeeded",
        fake_stripe.setup_intent(setup_intent_id_of(secret)).to_dict(),
    )
    signature = signed_event(payload)
    with capture_on_commit(execute=True):
        webhook = api.call(
            "post", "/webhooks/stripe/", payload, headers={"Stripe-Signature": signature}
        )
    assert webhook.status_code == 200

    guest = RecordingClient()
    guest.requests = api.requests
    guest_booked = guest.call(
        "post",
        f"/reservation-unauth/{guest_spot.pk}/",
        {"reservation": {"email": guest_email, "reservation_length": 60}},
    )
    assert guest_booked.status_code == 201
    guest_id = guest_booked.json()["id"]
    guest_path = f"{guest_id}/{guest_email}/"
    guest_secret = guest.call("post", f"/create-payment-intent-unauth/{guest_path}").json()[
        "clientSecret"
    ]
    fake_stripe.save_card(guest_secret, CARD)
    sent_token = f"leaked-{uuid.uuid4().hex}"
    with capture_on_commit(execute=True):
        confirmed = guest.call(
            "get", f"/confirm-successful-setup-intent-unauth/{guest_path}?token={sent_token}"
        )
    assert confirmed.status_code == 204
    unknown = guest.call("get", f"/reservation-unauth/1/{guest_email}/")
    assert unknown.status_code == 404

    # Two hours used, so that ending charges the card (a fee under the minimum is waived).
    Reservation.objects.filter(pk__in=[own_id, guest_id]).update(
        start_time=timezone.now() - timedelta(hours=2)
    )
    with capture_on_commit(execute=True):
        assert api.call("delete", f"/delete-reservation-auth/{own_id}/").status_code == 204
        assert guest.call("delete", f"/delete-reservation-unauth/{guest_path}").status_code == 204

    secrets = {
        "password": PASSWORD,
        "auth token": token,
        "driver email": driver_email,
        "guest email": guest_email,
        "guest email, encoded": guest_email.replace("@", "%40"),
        "driver client secret": secret,
        "guest client secret": guest_secret,
        "card number": CARD,
        "webhook signature": signature.split("v1=")[1],
        "webhook signing secret": WEBHOOK_SECRET,
        "Stripe secret key": SECRET_KEY,
        "token sent in a query": sent_token,
    }
    return api, secrets


def test_no_log_line_of_a_whole_flow_holds_a_secret_or_a_full_email(
    fake_stripe, every_log_line, django_capture_on_commit_callbacks
):
    api, secrets = drive_a_whole_flow(fake_stripe, django_capture_on_commit_callbacks)

    assert Charge.objects.filter(status=Charge.Status.SUCCEEDED).count() == 2
    logs = "\n".join(json.dumps(line) for line in every_log_line())
    access_log = "\n".join(access_log_lines(api.requests))
    for text in (logs, access_log):
        found = {name for name, secret in secrets.items() if secret.lower() in text.lower()}
        assert not found, f"in the logs: {sorted(found)}"
        assert not re.search(r"\b(Token|Bearer) [0-9A-Za-z]{8,}", text)
    # The lines are there, masked.
    assert "Not Found: /reservation-unauth/1/g***@example.org/" in logs
    assert "/confirm-successful-setup-intent-unauth/" in access_log
    assert "?token=[redacted]" in access_log


def test_metrics_after_a_whole_flow(
    fake_stripe, settings, client, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN = METRICS_TOKEN
    drive_a_whole_flow(fake_stripe, django_capture_on_commit_callbacks)

    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    assert response.status_code == 200
    samples = dict(
        line.rsplit(" ", 1) for line in response.content.decode().splitlines() if line[:1] != "#"
    )
    assert float(samples["securemyspot_bookings_total"]) == 2
    assert float(samples['securemyspot_reservations{status="ended"}']) == 2
    assert float(samples['securemyspot_reservations{status="pending_payment"}']) == 0
    assert float(samples["securemyspot_holds_expired_total"]) == 0
    assert float(samples['securemyspot_charges{status="succeeded"}']) == 2
    assert float(samples['securemyspot_charges{status="failed"}']) == 0
    # Each charge succeeded within seconds of its end.
    assert float(samples["securemyspot_charge_delay_seconds_count"]) == 2
    assert float(samples['securemyspot_charge_delay_seconds_bucket{le="60"}']) == 2
    # Confirmation and receipt emails of both reservations went out; none waits.
    assert float(samples["securemyspot_outbox_unsent_emails"]) == 0
