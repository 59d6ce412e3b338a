import threading
import time
from collections.abc import Callable

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, connections, transaction

from notifications import tasks
from notifications.models import EmailKind, OutboundEmail
from notifications.services import deliver_email, queue_reservation_email
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 20


def in_thread(target: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until_a_session_waits_for_a_lock() -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("no session ever waited for a lock")


def test_two_bookings_confirming_at_once_queue_one_email(mailoutbox):
    reservation = ReservationFactory(confirmed=True)
    first_queued, commit_first = threading.Event(), threading.Event()
    second_result = []

    def first() -> None:
        with transaction.atomic():
            queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
            first_queued.set()
            commit_first.wait(WAIT_SECONDS)

    def second() -> None:
        with transaction.atomic():
            second_result.append(
                queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
            )
            # The booking's transaction is still usable after the duplicate was skipped.
            Reservation.objects.filter(pk=reservation.pk).update(card_last4="1881")

    first_thread = in_thread(first)
    assert first_queued.wait(WAIT_SECONDS)
    second_thread = in_thread(second)
    wait_until_a_session_waits_for_a_lock()  # the second insert waits on the first's key
    commit_first.set()
    first_thread.join(WAIT_SECONDS)
    second_thread.join(WAIT_SECONDS)

    assert second_result == [None]
    assert Reservation.objects.get(pk=reservation.pk).card_last4 == "1881"
    assert OutboundEmail.objects.count() == 1
    assert len(mailoutbox) == 1


class SlowBackend(LocmemBackend):
    """Holds the first message until the test lets it go, so another sender can try meanwhile."""

    sending = threading.Event()
    release = threading.Event()

    def send_messages(self, email_messages) -> int:
        self.sending.set()
        self.release.wait(WAIT_SECONDS)
        return super().send_messages(email_messages)


def test_two_senders_at_once_send_an_email_once(settings, monkeypatch, mailoutbox):
    # No task at commit: the two senders below race for the email instead.
    monkeypatch.setattr(tasks.deliver_email, "apply_async", lambda *args, **kwargs: None)
    email = queue_reservation_email(
        reservation=ReservationFactory(confirmed=True), kind=EmailKind.CONFIRMATION
    )
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    results = []

    first = in_thread(lambda: results.append(deliver_email(email_id=email.pk)))
    assert SlowBackend.sending.wait(WAIT_SECONDS)
    results.append(deliver_email(email_id=email.pk))
    SlowBackend.release.set()
    first.join(WAIT_SECONDS)

    assert sorted(results) == [False, True]
    assert len(mailoutbox) == 1
