"""What holds a spot during a window of time, as the app that holds spots tells it.

Reservations hold spots but sit above them (docs/architecture.md): spots never import them.
At start-up ``ReservationsConfig.ready`` hands its selector of the reservations holding spots
to ``provide``, and spots' availability reads through ``holds_during``.
"""

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef, QuerySet

# Rows with a ``spot`` that hold it at some instant of ``[start, end)``.
HoldsDuring = Callable[..., QuerySet]

_holds_during: HoldsDuring | None = None


def provide(holds_during: HoldsDuring) -> None:
    """Called once, by the app whose rows hold spots, with ``holds_during(*, start, end)``."""
    global _holds_during
    _holds_during = holds_during


def holds_during(*, start: datetime, end: datetime) -> QuerySet:
    if _holds_during is None:
        raise ImproperlyConfigured(
            "Nothing provides spot holds: reservations must be in INSTALLED_APPS"
        )
    return _holds_during(start=start, end=end)


def spot_is_held_during(start: datetime, end: datetime) -> Exists:
    """For annotating spots: does a hold share any instant with ``[start, end)``?"""
    return Exists(holds_during(start=start, end=end).filter(spot=OuterRef("pk")))
