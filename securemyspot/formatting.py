"""Times, money and cards as a driver reads them, in an email or on a page."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

CARD_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def format_local_time(moment: datetime) -> str:
    """``Tue 24 Nov 2026, 1:30 PM EST`` in the display time zone.

    Built with strftime rather than Django's date filter: that one drops the zone name during
    the repeated hour when daylight saving ends, exactly when "1:30 AM" needs EDT or EST to
    say which of the two it is.
    """
    local = moment.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE))
    hour = local.hour % 12 or 12
    return f"{local:%a} {local.day} {local:%b %Y}, {hour}:{local:%M %p %Z}"


def format_money(cents: int, currency: str = "usd") -> str:
    """``$4.50`` for US dollars; any other currency as ``4.50 EUR``."""
    amount = f"{Decimal(cents) / 100:,.2f}"
    if currency.lower() == "usd":
        return f"${amount}"
    return f"{amount} {currency.upper()}"


def format_card(brand: str, last4: str) -> str:
    """``Visa ending 4242``; empty while no card is on file."""
    if not last4:
        return ""
    return f"{CARD_BRANDS.get(brand.lower(), 'Card')} ending {last4}"
