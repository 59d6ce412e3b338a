"""After the saved card failed, the driver pays from the emailed link: a page, the JSON routes
its Stripe.js calls (played here with the SDK against localstripe) and Stripe's webhook."""

import uuid

import pytest
from django.core import signing

from payments.links import pay_token
from payments.models import Charge, WebhookEvent
from payments.services import charging
from payments.tests.charging import (
    AUTHENTICATION_REQUIRED,
    DECLINED_WHEN_CHARGED,
    charge_and_die_before_recording,
    ended_with_card_at_stripe,
)
from payments.tests.fake_stripe import (
    event_payload,
    free_port,
    payment_intent_id_of,
    signed_event,
)
from reservations.models import Reservation

pytestmark = pytest.mark.django_db


@pytest.fixture
def declined(fake_stripe) -> Reservation:
    """A reservation whose card was declined at the end."""
    reservation = ended_with_card_at_stripe(fake_stripe, card=DECLINED_WHEN_CHARGED)
    charging.charge_for_reservation(reservation_id=reservation.pk)
    return reservation


@pytest.fixture
def needs_authentication(fake_stripe) -> Reservation:
    reservation = ended_with_card_at_stripe(fake_stripe, card=AUTHENTICATION_REQUIRED)
    charging.charge_for_reservation(reservation_id=reservation.pk)
    return reservation


def retry(client, reservation, token: str | None = None):
    return client.post(f"/retry-payment/{token or pay_token(reservation.pk)}/")


def confirm(client, reservation):
    return client.post(f"/confirm-payment/{pay_token(reservation.pk)}/")


def receipts(mailoutbox) -> list:
    return [m for m in mailoutbox if m.subject == "Reservation Has Ended"]


def page_says_paid(client, reservation) -> bool:
    return "Paid" in client.get(f"/pay/{pay_token(reservation.pk)}/").content.decode()


def altered(token: str) -> str:
    """The token with one character of its signed value changed."""
    return ("N" if token[0] != "N" else "M") + token[1:]


def test_the_link_opens_a_page_showing_what_is_due(client, declined, settings):
    # One token for both: a token signed in another second carries another timestamp.
    token = pay_token(declined.pk)
    response = client.get(f"/pay/{token}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "$12.34" in page
    assert "Your card was declined." in page
    assert 'src="https://js.stripe.com/v3"' in page
    assert 'data-publishable-key="pk_test_localstripe"' in page
    assert f'data-retry-url="/retry-payment/{token}/"' in page
    assert str(declined.pk) in page
    assert client.get("/static/payments/pay.js").status_code == 200


def test_paying_with_another_card_settles_the_charge_and_sends_the_receipt_once(
    api_client, declined, fake_stripe, mailoutbox, django_capture_on_commit_callbacks
):
    started = retry(api_client, declined)
    assert started.status_code == 200
    secret = started.json()["clientSecret"]
    assert fake_stripe.pay(secret, "5555555555554444") == "succeeded"

    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(api_client, declined).status_code == 204
        assert confirm(api_client, declined).status_code == 204

    charge = Charge.objects.get()
    assert charge.status == Charge.Status.SUCCEEDED
    assert charge.attempt == 2
    assert charge.stripe_payment_intent_id == payment_intent_id_of(secret)
    declined.refresh_from_db()
    assert declined.status == Reservation.Status.ENDED
    [receipt] = receipts(mailoutbox)
    assert "$12.34" in receipt.body
    # The failed off-session payment was cancelled, so that only one can ever be paid.
    statuses = sorted(i.status for i in fake_stripe.payment_intents_of(declined.pk))
    assert statuses == ["canceled", "succeeded"]
    assert page_says_paid(api_client, declined)


def test_authenticating_the_payment_with_the_bank_settles_it(
    api_client, needs_authentication, fake_stripe, mailoutbox, django_capture_on_commit_callbacks
):
    secret = retry(api_client, needs_authentication).json()["clientSecret"]
    assert fake_stripe.pay(secret, AUTHENTICATION_REQUIRED) == "requires_action"
    assert confirm(api_client, needs_authentication).json()["payment_intent_status"] == (
        "requires_action"
    )

    assert fake_stripe.authenticate(secret) == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(api_client, needs_authentication).status_code == 204

    assert Charge.objects.get().status == Charge.Status.SUCCEEDED
    assert len(receipts(mailoutbox)) == 1


def test_retrying_again_hands_out_the_same_payment(api_client, declined, fake_stripe):
    first = retry(api_client, declined).json()["clientSecret"]
    second = retry(api_client, declined).json()["clientSecret"]

    assert first == second
    assert len(fake_stripe.payment_intents_of(declined.pk)) == 2


def test_confirming_before_paying_is_a_conflict(api_client, declined):
    retry(api_client, declined)

    response = confirm(api_client, declined)

    assert response.status_code == 409
    assert response.json()["payment_intent_status"] == "requires_payment_method"
    assert Charge.objects.get().status == Charge.Status.FAILED


def test_a_paid_reservation_has_nothing_to_pay(api_client, fake_stripe):
    reservation = ended_with_card_at_stripe(fake_stripe)
    charging.charge_for_reservation(reservation_id=reservation.pk)

    response = retry(api_client, reservation)

    assert response.status_code == 409
    assert response.json()["charge_status"] == "succeeded"
    assert confirm(api_client, reservation).status_code == 204
    assert page_says_paid(api_client, reservation)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        altered(pay_token(123)),
        signing.dumps(123, salt="another-purpose"),
    ],
    ids=["garbage", "altered", "other-salt"],
)
def test_a_forged_or_altered_link_is_not_found(api_client, client, declined, token):
    assert client.get(f"/pay/{token}/").status_code == 404
    response = api_client.post(f"/retry-payment/{token}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_stripe_unreachable_while_starting_the_payment_answers_503(api_client, declined, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    response = retry(api_client, declined)

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert Charge.objects.get().claimed_until is None  # the next try is not kept waiting


def deliver_event(client, event_type: str, intent) -> int:
    payload = event_payload(f"evt_{uuid.uuid4().hex}", event_type, intent.to_dict())
    response = client.post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": signed_event(payload)},
    )
    return response.status_code


def test_stripes_payment_succeeded_event_settles_the_charge_once(
    client, api_client, declined, fake_stripe, mailoutbox, django_capture_on_commit_callbacks
):
    secret = retry(api_client, declined).json()["clientSecret"]
    fake_stripe.pay(secret)
    intent = fake_stripe.payment_intent(payment_intent_id_of(secret))

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_event(client, "payment_intent.succeeded", intent) == 200
        assert deliver_event(client, "payment_intent.succeeded", intent) == 200
        assert confirm(api_client, declined).status_code == 204

    assert Charge.objects.get().status == Charge.Status.SUCCEEDED
    assert WebhookEvent.objects.count() == 2
    assert len(receipts(mailoutbox)) == 1


def test_a_payment_event_settles_a_charge_whose_worker_died(
    client, fake_stripe, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    reservation = ended_with_card_at_stripe(fake_stripe)
    charge_and_die_before_recording(monkeypatch, reservation)
    [intent] = fake_stripe.payment_intents_of(reservation.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_event(client, "payment_intent.succeeded", intent) == 200

    assert Charge.objects.get().status == Charge.Status.SUCCEEDED
    assert len(receipts(mailoutbox)) == 1


def test_a_payment_failed_event_records_a_decline_nobody_recorded(
    client, fake_stripe, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    reservation = ended_with_card_at_stripe(fake_stripe, card=DECLINED_WHEN_CHARGED)
    charge_and_die_before_recording(monkeypatch, reservation)
    [intent] = fake_stripe.payment_intents_of(reservation.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_event(client, "payment_intent.payment_failed", intent) == 200

    assert Charge.objects.get().status == Charge.Status.FAILED
    assert [m.subject for m in mailoutbox] == ["Payment Failed: Action Needed"]
