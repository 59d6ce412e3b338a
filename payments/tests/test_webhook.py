import json
import uuid

import pytest

from payments.models import WebhookEvent
from payments.tests.fake_stripe import event_payload, free_port, setup_intent_id_of, signed_event
from reservations.models import Reservation

pytestmark = pytest.mark.django_db

WEBHOOK = "/webhooks/stripe/"


def deliver(client, payload: bytes, signature: str | None):
    headers = {} if signature is None else {"Stripe-Signature": signature}
    return client.post(WEBHOOK, data=payload, content_type="application/json", headers=headers)


@pytest.fixture
def card_saved_event(fake_stripe, driver_client, booking) -> bytes:
    """The driver saved a card in the browser and closed the tab: only Stripe's event tells."""
    secret = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()["clientSecret"]
    fake_stripe.save_card(secret)
    intent = fake_stripe.setup_intent(setup_intent_id_of(secret))
    return event_payload(f"evt_{uuid.uuid4().hex}", "setup_intent.succeeded", intent.to_dict())


def confirmations(mailoutbox) -> list:
    return [m for m in mailoutbox if m.subject == "Reservation Confirmation"]


def test_setup_intent_succeeded_confirms_the_reservation(
    client, card_saved_event, booking, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, card_saved_event, signed_event(card_saved_event))

    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
    assert (booking.card_brand, booking.card_last4) == ("visa", "4242")
    assert len(confirmations(mailoutbox)) == 1


def test_a_redelivered_event_is_acknowledged_and_not_handled_again(
    client, card_saved_event, settings, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, card_saved_event, signed_event(card_saved_event)).status_code == 200
    # Handling the event again would have to ask Stripe, which is now out of reach.
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    with django_capture_on_commit_callbacks(execute=True):
        again = deliver(client, card_saved_event, signed_event(card_saved_event))

    assert again.status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert len(confirmations(mailoutbox)) == 1


@pytest.mark.parametrize(
    "signature",
    [None, "", "garbage", "t=1,v1=" + "0" * 64],
    ids=["missing", "empty", "malformed", "wrong-digest"],
)
def test_an_event_without_a_valid_signature_is_refused(
    client, card_saved_event, booking, signature
):
    response = deliver(client, card_saved_event, signature)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT


def test_an_event_signed_with_another_secret_is_refused(client, card_saved_event):
    response = deliver(client, card_saved_event, signed_event(card_saved_event, "whsec_other"))

    assert response.status_code == 400


def test_a_tampered_body_is_refused(client, card_saved_event):
    signature = signed_event(card_saved_event)
    tampered = card_saved_event.replace(b"succeeded", b"SUCCEEDED", 1)

    assert deliver(client, tampered, signature).status_code == 400


def test_an_unknown_event_type_is_acknowledged(client, fake_stripe):
    payload = event_payload("evt_unknown_1", "customer.created", {"object": "customer"})

    response = deliver(client, payload, signed_event(payload))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().type == "customer.created"


def test_stripe_unreachable_while_handling_asks_stripe_to_retry(
    client, card_saved_event, booking, settings, fake_stripe, django_capture_on_commit_callbacks
):
    localstripe = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    response = deliver(client, card_saved_event, signed_event(card_saved_event))

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert not WebhookEvent.objects.exists()
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.PENDING_PAYMENT

    settings.STRIPE_API_BASE = localstripe
    with django_capture_on_commit_callbacks(execute=True):
        retried = deliver(client, card_saved_event, signed_event(card_saved_event))
    assert retried.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED


def test_a_card_saved_after_the_hold_lapsed_does_not_revive_the_reservation(
    client, card_saved_event, booking
):
    Reservation.objects.filter(pk=booking.pk).update(status=Reservation.Status.EXPIRED)

    response = deliver(client, card_saved_event, signed_event(card_saved_event))

    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.EXPIRED


def test_a_setup_intent_of_no_reservation_is_acknowledged(client, fake_stripe):
    intent = fake_stripe.client.v1.setup_intents.create(params={"usage": "off_session"})
    payload = event_payload("evt_foreign_1", "setup_intent.succeeded", intent.to_dict())

    assert deliver(client, payload, signed_event(payload)).status_code == 200


def test_a_signed_body_that_is_not_an_event_is_refused(client, fake_stripe):
    payload = b'{"hello": "world"}'

    assert deliver(client, payload, signed_event(payload)).status_code == 400


def test_without_stripe_keys_there_is_no_webhook(client, sandbox):
    payload = event_payload("evt_sandbox_1", "setup_intent.succeeded", {})

    response = deliver(client, payload, signed_event(payload))

    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize("event_id", [None, "", 42], ids=["null", "empty", "number"])
def test_a_signed_event_without_a_text_id_is_refused_naming_the_id(client, fake_stripe, event_id):
    payload = json.dumps(
        {"id": event_id, "type": "setup_intent.succeeded", "data": {"object": {}}}
    ).encode()

    response = deliver(client, payload, signed_event(payload))

    assert response.status_code == 400
    assert "id must be text" in json.dumps(response.json())
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "charge_id", [str(2**63), "-1", "99999999999999999999999999"], ids=["2^63", "negative", "huge"]
)
def test_a_payment_intent_naming_an_impossible_charge_is_acknowledged_as_no_charges(
    client, fake_stripe, charge_id
):
    intent = {
        "id": "pi_foreign_1",
        "object": "payment_intent",
        "status": "succeeded",
        "metadata": {"charge_id": charge_id, "attempt": "1"},
    }
    payload = event_payload(f"evt_{uuid.uuid4().hex}", "payment_intent.succeeded", intent)

    assert deliver(client, payload, signed_event(payload)).status_code == 200
    assert WebhookEvent.objects.count() == 1
