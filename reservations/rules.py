"""How long a reservation may be, as 400s naming the field (when it may start: spots/windows.py)."""

from datetime import timedelta

from django.conf import settings

from securemyspot.errors import DomainError


def check_length(length: timedelta, *, field: str) -> None:
    shortest = timedelta(minutes=settings.RESERVATION_MIN_MINUTES)
    longest = timedelta(minutes=settings.RESERVATION_MAX_MINUTES)
    if length < shortest:
        raise DomainError(
            f"A reservation lasts at least {settings.RESERVATION_MIN_MINUTES} minute(s).",
            field=field,
        )
    if length > longest:
        raise DomainError(
            f"A reservation lasts at most {settings.RESERVATION_MAX_MINUTES // 60} hours.",
            field=field,
        )
