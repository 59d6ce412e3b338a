"""The engine queues the emails of a batch of reservations together and sends them over one
connection to the mail server, each once, whatever the others do."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import EmailKind, OutboundEmail
from notifications.services import (
    ReservationEmail,
    deliver_emails,
    queue_reservation_emails,
)
from notifications.tests.mail_backends import (
    COUNTING_CONNECTIONS,
    REFUSING_BOUNCES,
    UNREACHABLE,
    ConnectionCountingBackend,
)
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def queued(*emails: str) -> list[int]:
    """Confirmation emails of new reservations for these addresses, queued together; their
    ids, in the order given."""
    reservations = [ReservationFactory(confirmed=True, email=email) for email in emails]
    queue_reservation_emails(
        emails=[ReservationEmail(r, EmailKind.CONFIRMATION) for r in reservations],
        now=timezone.now(),
    )
    by_reservation = dict(OutboundEmail.objects.values_list("reservation_id", "pk"))
    return [by_reservation[r.pk] for r in reservations]


def test_a_batch_is_sent_over_one_connection_and_once_however_often_it_is_delivered(
    settings, mailoutbox
):
    settings.EMAIL_BACKEND = COUNTING_CONNECTIONS
    ConnectionCountingBackend.opened = 0
    ids = queued("a@example.com", "b@example.com", "c@example.com")

    assert deliver_emails(email_ids=ids) == 3
    assert deliver_emails(email_ids=ids) == 0

    assert ConnectionCountingBackend.opened == 1
    assert sorted(m.to[0] for m in mailoutbox) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()


def test_queueing_a_batch_again_queues_nothing_new():
    reservation = ReservationFactory(confirmed=True)
    batch = [ReservationEmail(reservation, EmailKind.CONFIRMATION)]

    queue_reservation_emails(emails=batch, now=timezone.now())
    queue_reservation_emails(emails=batch, now=timezone.now())

    assert OutboundEmail.objects.count() == 1


def test_a_refused_recipient_does_not_hold_up_the_rest_of_the_batch(settings, mailoutbox):
    settings.EMAIL_BACKEND = REFUSING_BOUNCES
    ids = queued("a@example.com", "nobody@bounce.example", "c@example.com")

    with pytest.raises(OSError, match="No such user"):
        deliver_emails(email_ids=ids)

    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.com", "c@example.com"]
    refused = OutboundEmail.objects.get(pk=ids[1])
    assert (refused.sent_at, refused.claimed_until, refused.attempts) == (None, None, 1)
    assert "SMTPRecipientsRefused" in refused.last_error
    assert refused.next_attempt_at > timezone.now() + timedelta(seconds=30)


def test_an_unreachable_server_leaves_the_rest_of_the_batch_as_it_was(settings):
    settings.EMAIL_BACKEND = UNREACHABLE
    ids = queued("a@example.com", "b@example.com", "c@example.com")

    with pytest.raises(ConnectionRefusedError):
        deliver_emails(email_ids=ids)

    # The first it took (by id) has the failed attempt; the others are as they were.
    first, *rest = OutboundEmail.objects.order_by("pk")
    assert (first.attempts, first.claimed_until) == (1, None)
    assert "ConnectionRefusedError" in first.last_error
    assert [(email.attempts, email.claimed_until, email.last_error) for email in rest] == [
        (0, None, "")
    ] * 2
    assert not OutboundEmail.objects.filter(sent_at__isnull=False).exists()


def test_a_batch_out_of_time_queues_the_rest_as_a_task_of_its_own(
    monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("notifications.services.SEND_BATCH_SECONDS", 0)
    ids = queued("a@example.com", "b@example.com", "c@example.com")

    with django_capture_on_commit_callbacks() as queued_tasks:
        assert deliver_emails(email_ids=ids) == 1

    unsent = OutboundEmail.objects.filter(sent_at__isnull=True)
    assert [(email.attempts, email.claimed_until) for email in unsent] == [(0, None)] * 2
    with django_capture_on_commit_callbacks(execute=True):
        for task in queued_tasks:
            task()
    assert sorted(m.to[0] for m in mailoutbox) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
