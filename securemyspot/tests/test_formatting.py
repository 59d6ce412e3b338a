from datetime import UTC, datetime

import pytest

from securemyspot.formatting import format_card, format_local_time, format_money


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 11, 24, 18, 30, tzinfo=UTC), "Tue 24 Nov 2026, 1:30 PM EST"),
        (datetime(2026, 7, 4, 4, 5, tzinfo=UTC), "Sat 4 Jul 2026, 12:05 AM EDT"),
        (datetime(2026, 3, 8, 6, 59, tzinfo=UTC), "Sun 8 Mar 2026, 1:59 AM EST"),
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), "Sun 8 Mar 2026, 3:00 AM EDT"),
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "Sun 1 Nov 2026, 1:30 AM EDT"),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "Sun 1 Nov 2026, 1:30 AM EST"),
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), "Sun 1 Nov 2026, 2:30 AM EST"),
    ],
)
def test_times_are_shown_in_new_york_with_the_zone_in_force(moment, shown):
    assert format_local_time(moment) == shown


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (450, "usd", "$4.50"),
        (5, "usd", "$0.05"),
        (123456, "usd", "$1,234.56"),
        (450, "eur", "4.50 EUR"),
    ],
)
def test_money_is_shown_from_integer_cents(cents, currency, shown):
    assert format_money(cents, currency) == shown


@pytest.mark.parametrize(
    ("brand", "last4", "shown"),
    [
        ("visa", "4242", "Visa ending 4242"),
        ("amex", "0005", "American Express ending 0005"),
        ("unknown", "1111", "Card ending 1111"),
        ("", "", ""),
    ],
)
def test_cards_are_named_by_brand_and_last_four_digits(brand, last4, shown):
    assert format_card(brand, last4) == shown
