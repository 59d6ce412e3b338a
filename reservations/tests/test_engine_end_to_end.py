"""The end-of-reservation engine end to end, as it runs in production: a prefork worker and beat
(sweeping every second) as separate processes, PostgreSQL, RabbitMQ, Redis and localstripe. No
test calls the engine: a reservation reaches its end time, or the driver ends or moves it
through the API, and the worker ends it, charges the card at localstripe and emails the driver.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import Charge
from reservations.models import Reservation
from reservations.services import reserve_spot
from reservations.tasks import end_due_reservations, end_reservation
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    DEADLINE_SECONDS,
    SWEEP_SECONDS,
    confirm_with_card,
    engine_fixture,
    fake_stripe_fixture,
    finalised,
    localstripe_url_fixture,
    reservation_with_card,
    text_of,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The beat sweep ends a reservation within one interval of its end; one more, and a second for
# the worker to take the task up, is the most a busy machine should add.
ENDS_WITHIN = timedelta(seconds=2 * SWEEP_SECONDS + 1)


@pytest.fixture
def running(engine, fake_stripe):
    """A worker and beat, charging at localstripe."""
    engine.start(beats=1)
    return engine


def change_end_time(api_client, reservation: Reservation, end_time: datetime):
    return api_client.patch(
        f"/update-reservation-unauth/{reservation.pk}/{reservation.email}/",
        {"reservation": {"end_time": end_time.isoformat()}},
        format="json",
    )


def test_a_reservation_reaching_its_end_time_is_ended_charged_and_emailed_within_the_sweep(
    running, fake_stripe
):
    end = timezone.now() + timedelta(seconds=2)
    reservation = reservation_with_card(fake_stripe, start=end - timedelta(hours=1), end=end)

    wait_until(lambda: finalised(reservation.pk), "the reservation is ended, charged, emailed")

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ENDED
    assert timedelta(0) <= reservation.finished_at - end <= ENDS_WITHIN
    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    assert (intent.amount, intent.status) == (450, "succeeded")  # an hour at $4.50
    [receipt] = running.sent_emails()
    assert (receipt["Subject"], receipt["To"]) == ("Reservation Has Ended", reservation.email)
    assert "Charged:     $4.50 to your Visa ending 4242" in text_of(receipt)


def test_a_reservation_ended_early_is_charged_once_for_the_time_used_freed_and_emailed(
    running, fake_stripe, api_client
):
    now = timezone.now()
    reservation = reservation_with_card(
        fake_stripe, start=now - timedelta(minutes=30), end=now + timedelta(minutes=30)
    )

    response = api_client.delete(
        f"/delete-reservation-unauth/{reservation.pk}/{reservation.email}/"
    )

    assert response.status_code == 204
    # Free at once, for the half hour it was booked for.
    reserve_spot(spot_id=reservation.spot_id, user=None, email="next@example.com", minutes=30)
    wait_until(lambda: finalised(reservation.pk), "the reservation is charged and emailed")
    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    # 30 minutes and a started 31st at $4.50 an hour.
    assert (intent.amount, intent.status) == (233, "succeeded")
    assert Charge.objects.get(pk=reservation.pk).status == Charge.Status.SUCCEEDED
    [receipt] = running.sent_emails()
    assert "Charged:     $2.33 to your Visa ending 4242" in text_of(receipt)


def test_an_extended_reservation_is_left_alone_at_its_old_end_and_charged_at_its_new(
    running, fake_stripe, api_client
):
    old_end = timezone.now() + timedelta(seconds=2)
    new_end = old_end + timedelta(seconds=5)
    reservation = confirm_with_card(fake_stripe, start=new_end - timedelta(hours=1), end=old_end)

    assert change_end_time(api_client, reservation, new_end).status_code == 200

    at_old_end, _ = running.queued(end_reservation)
    assert at_old_end.get(timeout=DEADLINE_SECONDS) is False
    assert running.send(end_due_reservations).get(timeout=DEADLINE_SECONDS) == 0
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED
    assert not Charge.objects.filter(pk=reservation.pk).exists()
    assert fake_stripe.payment_intents_of(reservation.pk) == []

    wait_until(lambda: finalised(reservation.pk), "the reservation is ended at its new end")
    reservation.refresh_from_db()
    assert timedelta(0) <= reservation.finished_at - new_end <= ENDS_WITHIN
    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    assert intent.amount == 450


def test_a_shortened_reservation_is_charged_at_its_new_end(running, fake_stripe, api_client):
    new_end = timezone.now() + timedelta(seconds=2)
    reservation = reservation_with_card(
        fake_stripe, start=new_end - timedelta(minutes=20), end=new_end + timedelta(hours=1)
    )

    assert change_end_time(api_client, reservation, new_end).status_code == 200

    wait_until(lambda: finalised(reservation.pk), "the reservation is ended at its new end")
    reservation.refresh_from_db()
    assert reservation.end_time == new_end
    assert timedelta(0) <= reservation.finished_at - new_end <= ENDS_WITHIN
    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    assert intent.amount == 150  # 20 minutes at $4.50 an hour
    receipt = next(m for m in running.sent_emails() if m["Subject"] == "Reservation Has Ended")
    assert "Charged:     $1.50 to your Visa ending 4242" in text_of(receipt)


def test_a_reservation_across_the_night_clocks_fall_back_is_charged_its_real_minutes(
    running, fake_stripe
):
    # 1:00 AM EDT to 3:00 AM EST on 1 November 2026: two hours on the wall clock, three real.
    reservation = reservation_with_card(
        fake_stripe,
        start=datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
        end=datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        rate=Decimal("4.00"),
    )

    wait_until(lambda: finalised(reservation.pk), "the reservation is ended, charged, emailed")

    [intent] = fake_stripe.payment_intents_of(reservation.pk)
    assert intent.amount == 1200
    [receipt] = running.sent_emails()
    body = text_of(receipt)
    assert "Started:     Sun 1 Nov 2026, 1:00 AM EDT" in body
    assert "Ended:       Sun 1 Nov 2026, 3:00 AM EST" in body
    assert "Time used:   180 minutes" in body
    assert "Charged:     $12.00 to your Visa ending 4242" in body
