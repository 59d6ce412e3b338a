from django.db.models import F, QuerySet, Value
from django.utils import timezone
from rest_framework import serializers

from reservations.rules import check_start_time
from securemyspot.fields import AwareDateTimeField
from spots.models import ParkingSpot
from spots.sql import JSONFixedPoint, JSONNumber, JSONObjectText, JSONTimestamp

METRES_PER_UNIT = {"km": 1000.0, "mi": 1609.344}
UNIT_SPELLINGS = {"km": "km", "mi": "mi", "mil": "mi", "mile": "mi", "miles": "mi"}
MAX_SEARCH_RADIUS_M = 50_000.0  # wider than New York City from end to end
MAX_SEARCH_LIMIT = 1000


class ParkingSpotSerializer(serializers.ModelSerializer):
    """The spot JSON of the contract. The lists render the same shape in SQL
    (``spot_json_rows``); this serializer documents it and is the reference in tests."""

    reserved = serializers.BooleanField(
        read_only=True, help_text="True while a live reservation covers now."
    )
    rate = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, help_text="USD per hour."
    )

    class Meta:
        model = ParkingSpot
        fields = ["id", "lat", "lng", "reserved", "active", "rate", "created_at", "updated_at"]
        read_only_fields = fields


class NearbyParkingSpotSerializer(ParkingSpotSerializer):
    distance = serializers.FloatField(
        read_only=True, help_text="Distance from the searched point, in the requested unit."
    )

    class Meta(ParkingSpotSerializer.Meta):
        fields = [*ParkingSpotSerializer.Meta.fields, "distance"]
        read_only_fields = fields


class AvailabilityWindowSerializer(serializers.Serializer):
    """Optional ``start`` and ``end``: spots free for that whole window instead of now."""

    start = AwareDateTimeField(required=False, help_text="Window start, ISO 8601 with zone.")
    end = AwareDateTimeField(required=False, help_text="Window end, ISO 8601 with zone.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if ("start" in attrs) != ("end" in attrs):
            missing = "end" if "start" in attrs else "start"
            raise serializers.ValidationError({missing: ["Give both start and end, or neither."]})
        if "start" not in attrs:
            return attrs
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        check_start_time(attrs["start"], now=timezone.now(), field="start")
        return attrs


class SpotSearchParamsSerializer(AvailabilityWindowSerializer):
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text="Latitude, degrees.")
    lng = serializers.FloatField(
        min_value=-180, max_value=180, help_text="Longitude, degrees (`long` also accepted)."
    )
    unit = serializers.CharField(help_text="`km` or `mi` (`mil`, `mile`, `miles` accepted).")
    dist = serializers.FloatField(help_text="Search radius in `unit`, greater than 0.")
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SEARCH_LIMIT,
        help_text="Return at most this many spots, the nearest. Default: all within `dist`.",
    )

    def validate_unit(self, value: str) -> str:
        unit = UNIT_SPELLINGS.get(value.strip().lower())
        if unit is None:
            raise serializers.ValidationError('Must be "km" or "mi".')
        return unit

    def validate_dist(self, value: float) -> float:
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        return value

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        attrs["radius_m"] = attrs["dist"] * METRES_PER_UNIT[attrs["unit"]]
        if attrs["radius_m"] > MAX_SEARCH_RADIUS_M:
            maximum = MAX_SEARCH_RADIUS_M / METRES_PER_UNIT[attrs["unit"]]
            raise serializers.ValidationError(
                {"dist": [f"Must be at most {maximum:g} {attrs['unit']}."]}
            )
        return attrs


def spot_json_rows(queryset: QuerySet[ParkingSpot], *, unit: str | None = None) -> QuerySet:
    """Each spot of an availability list as the contract's JSON text, written by the database;
    with ``unit``, the queryset's ``distance_m`` is added as ``distance`` in that unit."""
    fields = {
        "id": JSONNumber("id"),
        "lat": JSONFixedPoint("lat", 6),
        "lng": JSONFixedPoint("lng", 6),
        # The lists hold only active spots free now. As literals, the scans need read only
        # the covering index, never the table.
        "reserved": "false",
        "active": "true",
        "rate": JSONFixedPoint("rate", 2),
        "created_at": JSONTimestamp("created_at"),
        "updated_at": JSONTimestamp("updated_at"),
    }
    if unit is not None:
        fields["distance"] = JSONNumber(F("distance_m") / Value(METRES_PER_UNIT[unit]), places=4)
    return queryset.annotate(spot_json=JSONObjectText(**fields)).values_list("spot_json", flat=True)
