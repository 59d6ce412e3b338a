"""An email is sent once its booking commits, exactly once, and never fails the booking.

Outside ``django_capture_on_commit_callbacks`` a test's transaction never commits, so a queued
email waits for ``deliver_email`` or the sweep, as if its task had not run yet.
"""

import logging
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from notifications import services, tasks
from notifications.models import EmailKind, OutboundEmail
from notifications.services import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    deliver_email,
    deliver_pending_emails,
    queue_reservation_email,
)
from notifications.tests.mail_backends import REFUSING_BOUNCES, UNREACHABLE
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def later(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


def test_the_email_is_sent_only_after_the_booking_commits(
    reservation, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks() as callbacks:
        queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)

    assert mailoutbox == []
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 1
    assert OutboundEmail.objects.get().sent_at is not None


def test_the_email_is_sent_once_on_commit(reservation, queue_and_commit, mailoutbox):
    queue_and_commit(reservation)

    assert [m.subject for m in mailoutbox] == ["Reservation Confirmation"]


def test_a_rolled_back_booking_sends_nothing(
    reservation, django_capture_on_commit_callbacks, mailoutbox
):
    class BookingFailed(Exception):
        pass

    def booking_that_fails() -> None:
        with transaction.atomic():
            queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
            raise BookingFailed

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(BookingFailed):
        booking_that_fails()

    assert mailoutbox == []
    assert not OutboundEmail.objects.exists()


def test_confirming_twice_sends_one_confirmation(reservation, queue_and_commit, mailoutbox):
    first = queue_and_commit(reservation)
    second = queue_and_commit(reservation)

    assert first is not None
    assert second is None
    assert len(mailoutbox) == 1


def test_the_same_amendment_twice_sends_once(reservation, queue_and_commit, mailoutbox):
    reservation.end_time += timedelta(minutes=30)
    queue_and_commit(reservation, kind=EmailKind.AMENDMENT)
    queue_and_commit(reservation, kind=EmailKind.AMENDMENT)

    assert len(mailoutbox) == 1


def test_every_change_of_end_time_is_announced(reservation, queue_and_commit, mailoutbox):
    booked_end = reservation.end_time
    for end_time in (booked_end + timedelta(hours=1), booked_end, booked_end + timedelta(hours=1)):
        reservation.end_time = end_time
        queue_and_commit(reservation, kind=EmailKind.AMENDMENT)

    ends = [line for m in mailoutbox for line in m.body.splitlines() if line.startswith("Now ends")]
    assert ends == [
        "Now ends:    Sat 4 Jul 2026, 4:00 PM EDT",
        "Now ends:    Sat 4 Jul 2026, 3:00 PM EDT",
        "Now ends:    Sat 4 Jul 2026, 4:00 PM EDT",
    ]


def test_mail_server_down_keeps_the_email_and_the_booking(
    reservation, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.EMAIL_BACKEND = UNREACHABLE

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        reservation.card_last4 = "1881"
        reservation.save()
        queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)

    assert Reservation.objects.get(pk=reservation.pk).card_last4 == "1881"
    email = OutboundEmail.objects.get()
    assert email.sent_at is None
    assert email.attempts == tasks.deliver_email.max_retries + 1  # bounded
    assert "ConnectionRefusedError" in email.last_error

    settings.EMAIL_BACKEND = LOCMEM
    assert deliver_pending_emails(now=email.next_attempt_at) == 1

    assert len(mailoutbox) == 1
    assert "Visa ending 1881" in mailoutbox[0].body
    email.refresh_from_db()
    assert email.sent_at is not None


def test_broker_down_leaves_the_email_to_the_sweep(
    reservation, queue_and_commit, mailoutbox, monkeypatch, caplog
):
    def broker_unreachable(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(tasks.deliver_email, "apply_async", broker_unreachable)

    queue_and_commit(reservation)

    assert mailoutbox == []
    assert "its sweep will take it up" in caplog.text
    assert deliver_pending_emails(now=later(2)) == 1
    assert len(mailoutbox) == 1


def test_the_sweep_leaves_a_fresh_email_to_its_task(reservation, mailoutbox):
    queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)

    assert deliver_pending_emails(now=later(0.5)) == 0
    assert mailoutbox == []


def test_delivering_twice_sends_once(reservation, mailoutbox):
    email = queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)

    assert deliver_email(email_id=email.pk) is True
    assert deliver_email(email_id=email.pk) is False
    assert deliver_pending_emails(now=later(60)) == 0
    assert len(mailoutbox) == 1


def test_an_email_whose_sender_died_is_sent_once_its_claim_lapses(reservation, mailoutbox):
    email = queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
    # A worker claimed it, then died before sending.
    OutboundEmail.objects.filter(pk=email.pk).update(
        claimed_until=timezone.now() + CLAIM_LEASE, attempts=1
    )

    assert deliver_email(email_id=email.pk) is False
    assert deliver_pending_emails(now=later(2)) == 0
    assert deliver_pending_emails(now=later(CLAIM_LEASE.total_seconds() / 60 + 1)) == 1
    assert len(mailoutbox) == 1


def test_the_sweep_sends_past_a_refused_recipient(settings, mailoutbox):
    settings.EMAIL_BACKEND = REFUSING_BOUNCES
    bounced = ReservationFactory(confirmed=True, email="nobody@bounce.example")
    delivered = ReservationFactory(confirmed=True)
    for reservation in (bounced, delivered):
        queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)

    assert deliver_pending_emails(now=later(2)) == 1

    assert [m.to for m in mailoutbox] == [[delivered.email]]
    refused = OutboundEmail.objects.get(recipient=bounced.email)
    assert refused.sent_at is None
    assert "SMTPRecipientsRefused" in refused.last_error
    assert refused.next_attempt_at > later(2)  # it waits before the next try


def test_the_sweep_stops_at_an_unreachable_server(settings, mailoutbox):
    settings.EMAIL_BACKEND = UNREACHABLE
    for reservation in ReservationFactory.create_batch(3, confirmed=True):
        queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)

    assert deliver_pending_emails(now=later(2)) == 0

    assert sorted(OutboundEmail.objects.values_list("attempts", flat=True)) == [0, 0, 1]


def test_the_sweep_gives_up_after_the_last_attempt(reservation, mailoutbox):
    email = queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS)

    assert deliver_pending_emails(now=later(24 * 60)) == 0
    assert mailoutbox == []


def test_a_failure_to_render_never_fails_the_booking(reservation, monkeypatch, caplog):
    def broken_template(*args, **kwargs):
        raise ValueError("template bug")

    monkeypatch.setattr(services, "render_to_string", broken_template)

    with caplog.at_level(logging.ERROR), transaction.atomic():
        email = queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
        reservation.card_last4 = "0005"
        reservation.save()

    assert email is None
    assert "Could not queue the confirmation email" in caplog.text
    assert Reservation.objects.get(pk=reservation.pk).card_last4 == "0005"
