import math
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Spots are indexed by latitude band (about 278 m tall) and longitude, so a radius search reads
# only the index entries inside its bounding box, band by band: no extension needed, the same
# on PostgreSQL and SQLite. See docs/geo-search.md.
LAT_BANDS_PER_DEGREE = 400


def lat_band_of(lat: float | Decimal) -> int:
    return math.floor(Decimal(lat) * LAT_BANDS_PER_DEGREE)


class ParkingSpot(models.Model):
    lat = models.DecimalField(
        max_digits=8,
        decimal_places=6,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    lng = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    rate = models.DecimalField(
        "hourly rate (USD)",
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    active = models.BooleanField(default=True, help_text="Offered for reservation.")
    lat_band = models.IntegerField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        indexes = [
            # Covering (PostgreSQL) and partial: a search is answered from the index alone.
            models.Index(
                fields=["lat_band", "lng"],
                include=["id", "lat", "rate", "created_at", "updated_at"],
                condition=models.Q(active=True),
                name="spot_active_geo_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lat__gte=-90, lat__lte=90), name="spot_lat_in_range"
            ),
            models.CheckConstraint(
                condition=models.Q(lng__gte=-180, lng__lte=180), name="spot_lng_in_range"
            ),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="spot_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Spot {self.pk} ({self.lat}, {self.lng})"

    def save(self, *args, **kwargs) -> None:
        self.lat_band = lat_band_of(self.lat)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "lat" in update_fields:
            kwargs["update_fields"] = {*update_fields, "lat_band"}
        super().save(*args, **kwargs)


class AvailabilityEvent(models.Model):
    """A change to what a spot looks like on the live map, written in the same transaction as
    the change (a transactional outbox). ``seq`` numbers them in commit order without gaps:
    a reader that sees ``seq`` S sees every event up to S (docs/live.md).

    On PostgreSQL a trigger (migration 0003) sends a ``NOTIFY`` on ``COMMITTED_CHANNEL`` with
    every statement that writes events: delivered at commit, and only if the transaction
    commits, so the socket servers read at once rather than at their next poll."""

    COMMITTED_CHANNEL = "spots_availability_events"

    class Kind(models.TextChoices):
        TAKEN = "taken", "taken (no longer available now)"
        FREED = "freed", "freed (available now)"
        UPDATED = "updated", "updated (its details changed)"

    seq = models.BigIntegerField(primary_key=True)
    spot = models.ForeignKey(ParkingSpot, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=7, choices=Kind.choices)
    created_at = models.DateTimeField(help_text="When the change was made.")

    def __str__(self) -> str:
        return f"#{self.seq}: spot {self.spot_id} {self.kind}"


class AvailabilitySequence(models.Model):
    """One row: the last ``AvailabilityEvent.seq`` handed out. Taken with an ``UPDATE`` as the
    last step of a transaction that changes availability, so its row lock orders those
    transactions' commits and their events' numbers alike."""

    ONLY_ROW = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ONLY_ROW)
    last = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_sequence_row")]

    def __str__(self) -> str:
        return f"last availability event #{self.last}"
