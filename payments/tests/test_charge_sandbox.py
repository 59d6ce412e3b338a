"""With no Stripe keys the sandbox takes the charge at the end and the payment page takes a
test card, so the whole flow runs on a laptop."""

import pytest

from payments.links import pay_token
from payments.models import Charge, SandboxPaymentIntent
from payments.services import charging
from payments.tests.charging import DECLINED_WHEN_CHARGED, ended_with_card_in_sandbox
from reservations.models import Reservation

pytestmark = pytest.mark.django_db


def test_the_saved_test_card_is_charged_once(
    sandbox, django_capture_on_commit_callbacks, mailoutbox
):
    reservation = ended_with_card_in_sandbox(amount_cents=450)

    with django_capture_on_commit_callbacks(execute=True):
        charging.charge_for_reservation(reservation_id=reservation.pk)
        charging.charge_for_reservation(reservation_id=reservation.pk)

    [intent] = SandboxPaymentIntent.objects.all()
    assert (intent.amount, intent.status, intent.metadata["charge_id"]) == (
        450,
        "succeeded",
        str(reservation.pk),
    )
    assert Charge.objects.get().status == Charge.Status.SUCCEEDED
    assert [m.subject for m in mailoutbox] == ["Reservation Has Ended"]


def test_a_card_needing_authentication_off_session_asks_the_driver(sandbox):
    reservation = ended_with_card_in_sandbox(card="4000002760003184")

    charge = charging.charge_for_reservation(reservation_id=reservation.pk)

    assert charge.status == Charge.Status.REQUIRES_ACTION


def test_the_payment_page_takes_a_test_card_after_a_decline(
    sandbox, client, django_capture_on_commit_callbacks, mailoutbox
):
    reservation = ended_with_card_in_sandbox(card=DECLINED_WHEN_CHARGED)
    charging.charge_for_reservation(reservation_id=reservation.pk)
    page = f"/pay/{pay_token(reservation.pk)}/"

    shown = client.get(page)
    refused = client.post(page, {"card_number": "4000 0000 0000 0002"})
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(page, {"card_number": "5555 5555 5555 4444"})

    assert shown.status_code == 200
    assert 'name="card_number"' in shown.content.decode()
    assert "js.stripe.com" not in shown.content.decode()
    assert refused.status_code == 400
    assert "Your card was declined." in refused.content.decode()
    assert paid.status_code == 302
    assert "Paid with your Mastercard ending 4444" in client.get(page).content.decode()
    charge = Charge.objects.get()
    assert (charge.status, charge.card_last4) == (Charge.Status.SUCCEEDED, "4444")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ENDED
    [receipt] = [m for m in mailoutbox if m.subject == "Reservation Has Ended"]
    assert "Mastercard ending 4444" in receipt.body


def test_a_card_that_is_not_a_test_card_is_refused_on_the_page(sandbox, client):
    reservation = ended_with_card_in_sandbox(card=DECLINED_WHEN_CHARGED)
    charging.charge_for_reservation(reservation_id=reservation.pk)

    response = client.post(f"/pay/{pay_token(reservation.pk)}/", {"card_number": "1234"})

    assert response.status_code == 400
    assert Charge.objects.get().status == Charge.Status.FAILED


def test_with_stripe_keys_the_page_takes_no_test_card(fake_stripe, client):
    reservation = ended_with_card_in_sandbox()

    response = client.post(f"/pay/{pay_token(reservation.pk)}/", {"card_number": "4242"})

    assert response.status_code == 405
