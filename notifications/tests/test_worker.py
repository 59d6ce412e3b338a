import threading
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import transaction

from notifications.models import EmailKind, OutboundEmail
from notifications.services import queue_reservation_email
from notifications.tasks import deliver_email
from reservations.tests.factories import ReservationFactory
from securemyspot.celery import app


@pytest.fixture
def private_queue():
    """Deliveries go to a queue of this test's own, so no other worker takes them (a local
    `make run` worker shares the broker). Only the queue changes: a connection pool made by
    an earlier test keeps the broker settings it was made with."""
    queue = f"test-{uuid.uuid4().hex}"
    previous = {
        "task_always_eager": app.conf.task_always_eager,
        "task_routes": app.conf.task_routes,
    }
    # update(), not assignment: only an update makes Celery rebuild a router it has cached.
    app.conf.update(task_always_eager=False, task_routes={deliver_email.name: {"queue": queue}})
    yield queue
    app.conf.update(previous)


@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_the_email_of_a_committed_booking(private_queue, mailoutbox):
    reservation = ReservationFactory(confirmed=True)
    finished = threading.Event()

    def on_finish(sender=None, **kwargs):
        if sender.name == deliver_email.name:
            finished.set()

    task_postrun.connect(on_finish, weak=False)
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=[private_queue], shutdown_timeout=60
        ):
            with transaction.atomic():
                queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)
            assert finished.wait(timeout=20), "the worker never ran the delivery"
    finally:
        task_postrun.disconnect(on_finish)

    assert [m.subject for m in mailoutbox] == ["Reservation Confirmation"]
    assert OutboundEmail.objects.get().sent_at is not None
