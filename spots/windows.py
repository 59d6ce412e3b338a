"""When a spot can be asked for: searching for free spots and booking one take the same window
rules. A window starts now or later, within the days ahead that bookings are taken."""

from datetime import datetime, timedelta

from django.conf import settings

from securemyspot.errors import DomainError

# A start time this little in the past (clock skew, a slow network) means "now".
START_TIME_GRACE = timedelta(minutes=1)


def check_start_time(start_time: datetime, *, now: datetime, field: str = "start_time") -> datetime:
    """The start of a booking ahead: not in the past, not too far ahead. Returns it, or now
    for a start a moment ago."""
    if start_time < now - START_TIME_GRACE:
        raise DomainError("Must not be in the past.", field=field)
    latest = now + timedelta(days=settings.RESERVATION_MAX_DAYS_AHEAD)
    if start_time > latest:
        raise DomainError(
            f"Must be at most {settings.RESERVATION_MAX_DAYS_AHEAD} days ahead.",
            field=field,
        )
    return max(start_time, now)
