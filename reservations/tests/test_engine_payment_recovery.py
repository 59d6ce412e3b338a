"""A saved card that cannot be charged when the reservation ends (localstripe's test cards: one
declined, one whose bank asks for 3-D Secure) leads the driver to the recovery flow: the worker
emails a link to pay, and paying from it settles the charge and brings the receipt, sent by the
worker too."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from payments.models import Charge
from payments.selectors import AUTHENTICATION_NEEDED
from payments.tests.charging import AUTHENTICATION_REQUIRED, DECLINED_WHEN_CHARGED
from reservations.models import Reservation
from reservations.tasks import end_due_reservations
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    engine_fixture,
    fake_stripe_fixture,
    localstripe_url_fixture,
    reservation_with_card,
    text_of,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ANOTHER_CARD = "4000056655665556"  # a Visa debit card; localstripe names every card a Visa


def emails_by_subject(engine) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in engine.sent_emails():
        found.setdefault(message["Subject"], []).append(text_of(message))
    return found


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        (DECLINED_WHEN_CHARGED, "Your card was declined."),
        (AUTHENTICATION_REQUIRED, AUTHENTICATION_NEEDED),
    ],
    ids=["declined", "authentication-required"],
)
def test_a_card_refused_at_the_end_leads_the_driver_to_pay_from_the_emailed_link(
    engine, fake_stripe, api_client, card, reason
):
    engine.start()
    now = timezone.now()
    reservation = reservation_with_card(
        fake_stripe, card=card, start=now - timedelta(hours=1), end=now
    )

    engine.send(end_due_reservations)

    wait_until(lambda: "Payment Failed: Action Needed" in emails_by_subject(engine), "the notice")
    [notice] = emails_by_subject(engine)["Payment Failed: Action Needed"]
    assert f"Why:         {reason}" in notice
    assert "Amount due:  $4.50" in notice
    [link] = [word for word in notice.split() if word.startswith(f"{settings.SITE_URL}/pay/")]
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert api_client.get(f"/pay/{token}/").status_code == 200
    secret = api_client.post(f"/retry-payment/{token}/").json()["clientSecret"]
    assert fake_stripe.pay(secret, ANOTHER_CARD) == "succeeded"
    assert api_client.post(f"/confirm-payment/{token}/").status_code == 204

    wait_until(lambda: "Reservation Has Ended" in emails_by_subject(engine), "the receipt")
    [receipt] = emails_by_subject(engine)["Reservation Has Ended"]
    assert "Charged:     $4.50 to your Visa ending 5556" in receipt
    assert Charge.objects.get(pk=reservation.pk).status == Charge.Status.SUCCEEDED
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ENDED
    intents = fake_stripe.payment_intents_of(reservation.pk)
    assert sorted(i.status for i in intents) == ["canceled", "succeeded"]
