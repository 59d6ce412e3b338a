"""What a reservation costs. Money is integer cents; rates are USD per hour (2 dp)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings


@dataclass(frozen=True)
class Fee:
    minutes: int
    amount_cents: int
    currency: str = "usd"

    @property
    def waived(self) -> bool:
        """Under Stripe's minimum charge: not collected, but recorded."""
        return self.amount_cents < settings.MINIMUM_CHARGE_CENTS

    @property
    def chargeable_cents(self) -> int:
        return 0 if self.waived else self.amount_cents


def billable_minutes(start: datetime, end: datetime) -> int:
    """Whole minutes used, a started minute counting in full.

    Both ends go to UTC first: Python subtracts two times of the same zone by the wall clock,
    which would bill a night the clocks fall back an hour short.
    """
    elapsed = max(end.astimezone(UTC) - start.astimezone(UTC), timedelta(0))
    return -(-elapsed // timedelta(minutes=1))  # ceiling division, exact


def fee_for_minutes(rate: Decimal, minutes: int) -> Fee:
    """The per-minute pro rata of the hourly rate, in cents, rounded half up."""
    cents = (Decimal(rate) * 100 * minutes / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Fee(minutes=minutes, amount_cents=int(cents))


def fee_for_period(rate: Decimal, start: datetime, end: datetime) -> Fee:
    return fee_for_minutes(rate, billable_minutes(start, end))
