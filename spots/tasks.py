"""Spots' periodic tasks: thin, safe to run twice or late."""

from celery import shared_task

from spots import services


@shared_task
def prune_availability_events() -> int:
    """Beat: drop the availability events too old to resume from."""
    return services.prune_availability_events()
