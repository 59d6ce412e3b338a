"""Two checkouts of one reservation at once (a double click, two tabs) must share one
SetupIntent: localstripe, like any fake, does not replay idempotency keys, so only the
service's own row lock can keep the second from creating another."""

import threading

import pytest
from django.db import connection

from payments.models import SetupAttempt, StripeCustomer
from payments.services import card_setup
from reservations.tests.factories import ReservationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_checkouts_of_one_reservation_share_one_setup_intent(fake_stripe):
    booking = ReservationFactory()
    start = threading.Barrier(4)
    secrets: list[str] = []
    errors: list[BaseException] = []

    def checkout() -> None:
        try:
            start.wait()
            secrets.append(card_setup.start_card_setup(reservation_id=booking.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(secrets)) == 1
    assert len(fake_stripe.setup_intents_of(booking.pk)) == 1
    assert SetupAttempt.objects.filter(reservation=booking).count() == 1


def test_concurrent_checkouts_of_one_email_record_one_customer(fake_stripe):
    bookings = ReservationFactory.create_batch(4, email="shared@example.com")
    start = threading.Barrier(len(bookings))
    errors: list[BaseException] = []

    def checkout(reservation_id: int) -> None:
        try:
            start.wait()
            card_setup.start_card_setup(reservation_id=reservation_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(b.pk,)) for b in bookings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    customers = {fake_stripe.setup_intents_of(b.pk)[0].customer for b in bookings}
    # Every SetupIntent names the one customer recorded for the email. (Stripe, replaying the
    # idempotency key, would have made just one; localstripe makes one per request.)
    assert customers == {StripeCustomer.objects.get(email="shared@example.com").customer_id}
