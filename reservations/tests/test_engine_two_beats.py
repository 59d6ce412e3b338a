"""Two beat schedulers started by mistake (production runs exactly one) send every sweep twice:
the sweep claims its rows with SKIP LOCKED and each task re-reads its row under lock, so every
reservation is still ended once, charged once and emailed once."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import Charge
from reservations.models import Reservation
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    SWEEP_SECONDS,
    engine_fixture,
    fake_stripe_fixture,
    finalised,
    localstripe_url_fixture,
    payment_intents_by_charge,
    reservation_with_card,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RESERVATIONS = 30
SWEEP_SENT = "Sending due task end-due-reservations"


def test_two_beats_end_charge_and_email_each_reservation_once(engine, fake_stripe):
    engine.start(workers=2, beats=2)
    # Each ending a few sweeps after it is made, while both beats are sweeping.
    due = [
        reservation_with_card(
            fake_stripe,
            start=timezone.now() - timedelta(hours=1),
            end=timezone.now() + timedelta(seconds=2 * SWEEP_SECONDS),
        )
        for _ in range(RESERVATIONS)
    ]
    ids = [reservation.pk for reservation in due]

    wait_until(lambda: finalised(*ids), "every reservation is ended, charged and emailed")

    beats = [process for process in engine.processes if process.name.startswith("beat")]
    assert [process.output().count(SWEEP_SENT) > 2 for process in beats] == [True, True]
    assert set(Reservation.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Reservation.Status.ENDED
    }
    assert set(Charge.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Charge.Status.SUCCEEDED
    }
    intents = payment_intents_by_charge(fake_stripe)
    assert {pk: len(intents[pk]) for pk in ids} == {pk: 1 for pk in ids}
    receipts = Counter(
        message["To"]
        for message in engine.sent_emails()
        if message["Subject"] == "Reservation Has Ended"
    )
    assert receipts == Counter(reservation.email for reservation in due)
