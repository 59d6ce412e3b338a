"""What the driver reads when a reservation ends: the receipt ("Reservation Has Ended") with
what was charged or why not, or a link to pay when the card could not be charged."""

from datetime import UTC, datetime

import pytest

from notifications.models import EmailKind
from notifications.services import PaymentSummary
from notifications.tests.test_email_content import bodies
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

PAY_URL = "https://securemyspot.example/pay/abc:def:ghi/"


@pytest.fixture
def ended() -> Reservation:
    """Ended after 65 minutes on a winter afternoon, at $4.50 an hour."""
    return ReservationFactory(
        confirmed=True,
        status=Reservation.Status.ENDED,
        start_time=datetime(2026, 12, 24, 18, 30, tzinfo=UTC),
        end_time=datetime(2026, 12, 24, 19, 35, tzinfo=UTC),
        amount_cents=488,
    )


def test_the_receipt_says_what_was_charged_to_which_card(ended, queue_and_commit, mailoutbox):
    queue_and_commit(
        ended,
        kind=EmailKind.ENDED,
        payment=PaymentSummary(
            amount_cents=488, currency="usd", card_brand="mastercard", card_last4="4444"
        ),
    )

    [message] = mailoutbox
    assert message.subject == "Reservation Has Ended"
    text, html = bodies(message)
    assert "Charged:     $4.88 to your Mastercard ending 4444" in text
    assert "Time used:   65 minutes" in text
    for body in (text, html):
        assert "Thu 24 Dec 2026, 1:30 PM EST" in body
        assert "Thu 24 Dec 2026, 2:35 PM EST" in body
        assert "$4.88" in body
        assert "Mastercard ending 4444" in body
        assert str(ended.pk) in body


def test_the_receipt_of_a_waived_fee_says_nothing_was_charged(queue_and_commit, mailoutbox):
    reservation = ReservationFactory(
        confirmed=True,
        status=Reservation.Status.ENDED,
        start_time=datetime(2026, 7, 4, 17, 0, tzinfo=UTC),
        end_time=datetime(2026, 7, 4, 17, 6, tzinfo=UTC),
        amount_cents=45,
        fee_waived=True,
    )

    queue_and_commit(
        reservation,
        kind=EmailKind.ENDED,
        payment=PaymentSummary(amount_cents=45, currency="usd", waived=True),
    )

    text, html = bodies(mailoutbox[0])
    assert "$0.45, under the $0.50 minimum charge, so not charged." in text
    assert "Charged" not in text
    assert "you owe nothing" in html
    assert "Sat 4 Jul 2026, 1:06 PM EDT" in text


def test_a_failed_payment_says_why_and_links_to_the_payment_page(
    ended, queue_and_commit, mailoutbox
):
    queue_and_commit(
        ended,
        kind=EmailKind.PAYMENT_FAILED,
        payment=PaymentSummary(
            amount_cents=488,
            currency="usd",
            failure_reason="Your card was declined.",
            pay_url=PAY_URL,
        ),
    )

    [message] = mailoutbox
    assert message.subject == "Payment Failed: Action Needed"
    text, html = bodies(message)
    assert "Why:         Your card was declined." in text
    assert "Amount due:  $4.88" in text
    assert f"\n{PAY_URL}\n" in text
    assert f'href="{PAY_URL}"' in html
    assert "Visa ending 4242" in text  # the card that failed


def test_each_end_of_reservation_email_is_sent_once(ended, queue_and_commit, mailoutbox):
    payment = PaymentSummary(amount_cents=488, currency="usd")

    for kind in (EmailKind.ENDED, EmailKind.ENDED, EmailKind.PAYMENT_FAILED):
        queue_and_commit(ended, kind=kind, payment=payment)
    queue_and_commit(ended, kind=EmailKind.PAYMENT_FAILED, payment=payment)

    assert sorted(m.subject for m in mailoutbox) == [
        "Payment Failed: Action Needed",
        "Reservation Has Ended",
    ]
