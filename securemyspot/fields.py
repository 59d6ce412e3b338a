from datetime import datetime

from django.utils.dateparse import parse_datetime
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant that names its zone (``Z`` or an offset). A zone-less time is
    refused rather than guessed: the driver and the server may be in different zones."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date-time, e.g. 2026-11-24T18:30:00.000Z.",
        "naive": "Must include a time zone, e.g. Z or -05:00.",
    }

    def get_value(self, dictionary: object) -> object:
        # DRF reads an empty query parameter (``?start=``) of an optional field as omitted; it
        # is a value, and not a date-time.
        if getattr(dictionary, "get", None) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, value: object) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        return parsed
