import logging

import pytest

from securemyspot.log_format import MaskAndStampFilter
from securemyspot.log_masking import mask


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("guest jane.doe@example.com booked", "guest j***@example.com booked"),
        ("/reservation-unauth/9/Jane%40Example.com/", "/reservation-unauth/9/J***%40Example.com/"),
        ("/sign-in/?token=abc123&page=2", "/sign-in/?token=[redacted]&page=2"),
        ("/x?client_secret=seti_1_secret_2&password=hunter2", None),
        (
            "seti_1Abc_secret_XyZ9 and pi_3Q_secret_Rt",
            "seti_1Abc_secret_[redacted] and pi_3Q_secret_[redacted]",
        ),
        ("Authorization: Token 0123456789abcdef0123", "Authorization: Token [redacted]"),
        ("Authorization: Bearer eyJhbGciOi.J9x", "Authorization: Bearer [redacted]"),
        ("key sk_live_51Habc and whsec_abcdef", "key sk_live_[redacted] and whsec_[redacted]"),
        (
            "Stripe-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff",
            "Stripe-Signature: t=1700000000,v1=[redacted]",
        ),
        ('{"card_number": "4242 4242 4242 4242"}', '{"card_number": "[redacted]"}'),
    ],
)
def test_personal_data_and_secrets_are_masked(text, masked):
    result = mask(text)

    if masked is not None:
        assert result == masked
    assert "hunter2" not in result
    assert "seti_1_secret_2" not in result


def test_ids_and_plain_text_are_left_as_they_are():
    line = "Charging reservation 4503599627370495 failed; it is retried later (attempt 2)"

    assert mask(line) == line


def test_masking_twice_changes_nothing_more():
    once = mask("jane@example.com /x?token=abc seti_1_secret_2")

    assert mask(once) == once


def test_a_record_whose_arguments_do_not_fit_is_written_masked_without_them():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "guest %s of %d", ("jane@example.com",), None
    )

    MaskAndStampFilter().filter(record)

    assert record.getMessage() == "guest %s of %d [arguments did not fit the message]"
