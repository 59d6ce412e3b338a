from django.utils import timezone
from rest_framework import serializers

from securemyspot.fields import AwareDateTimeField
from spots.models import ParkingSpot
from spots.windows import check_start_time


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
