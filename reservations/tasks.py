"""The end-of-reservation engine's tasks: thin, safe to run twice or late."""

import logging

from celery import shared_task

from reservations import services

logger = logging.getLogger(__name__)


@shared_task
def end_due_reservations() -> int:
    """Beat's sweep: end every confirmed reservation whose end time has passed, in batches.
    Their charges are queued after each batch commits."""
    ended = 0
    while batch := services.end_due_reservations():
        ended += len(batch)
    return ended


@shared_task
def end_reservation(reservation_id: int, end_time: str) -> bool:
    """Queued for a reservation's end time. The row is read again: an end moved later, or an
    earlier run, makes this a no-op."""
    ended = services.end_reservation_if_due(reservation_id=reservation_id)
    if not ended:
        logger.info("Reservation %s not due at %s: nothing to do", reservation_id, end_time)
    return ended


@shared_task
def send_due_reminders() -> int:
    """Beat: the "ends soon" emails that are due."""
    return services.send_due_reminders()


@shared_task
def announce_started_reservations() -> int:
    """Beat, with the engine's sweep: tell the live map of bookings made ahead that started,
    and of unpaid holds that outlived their end, in batches."""
    announced = 0
    while batch := services.announce_by_clock():
        announced += batch
    return announced


@shared_task
def prune_reservation_events() -> int:
    """Beat: drop the reservation events too old to resume from."""
    return services.prune_reservation_events()
