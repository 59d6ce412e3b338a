"""What the browser tests of the reservation, my-reservations and account pages share."""

from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from playwright.sync_api import Page

from web.tests.browser import Stack
from web.tests.chromium import sign_in_tab

_drivers = count(1)


def new_email(kind: str = "driver") -> str:
    """An address no other test (or earlier run on the same database) uses."""
    return f"{kind}-{next(_drivers)}-{datetime.now(UTC):%H%M%S%f}@example.com"


def signed_in_driver(page: Page, stack: Stack) -> tuple[str, str]:
    """A new account, signed in in this tab as the sign-in page leaves it: its email, token."""
    email = new_email()
    token = stack.sign_up(email)
    sign_in_tab(page, email, token)
    return email, token


def move_times(stack: Stack, reservation_id: int, *, started_ago: timedelta, ends_in: timedelta):
    """The reservation started ``started_ago`` and ends ``ends_in`` from now (what a driver
    cannot do quickly: park for an hour)."""
    now = datetime.now(UTC)
    stack.sql(
        "UPDATE reservations_reservation SET start_time = %s, end_time = %s WHERE id = %s",
        now - started_ago,
        now + ends_in,
        reservation_id,
    )


def new_york_input(instant: datetime) -> str:
    """``instant`` as a datetime-local value in New York time (the browser's zone here)."""
    return instant.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")
