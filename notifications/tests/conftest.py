from datetime import UTC, datetime

import pytest

from notifications.models import EmailKind
from notifications.services import queue_reservation_email
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory


@pytest.fixture
def reservation() -> Reservation:
    """A confirmed reservation of two summer hours at $4.50 an hour, paid by a Visa ending
    4242: 1 to 3 PM EDT on 4 July 2026."""
    return ReservationFactory(
        confirmed=True,
        start_time=datetime(2026, 7, 4, 17, 0, tzinfo=UTC),
        end_time=datetime(2026, 7, 4, 19, 0, tzinfo=UTC),
    )


@pytest.fixture
def queue_and_commit(django_capture_on_commit_callbacks):
    """Queue an email as a booking's transaction does, then commit it."""

    def queue(reservation: Reservation, kind: EmailKind = EmailKind.CONFIRMATION, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return queue_reservation_email(reservation=reservation, kind=kind, **kwargs)

    return queue
