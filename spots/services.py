"""Writes to parking spots."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from spots.models import ParkingSpot


@transaction.atomic
def set_spots_active(*, spots: QuerySet[ParkingSpot], active: bool) -> int:
    """Offer the spots for reservation, or withdraw them; returns how many changed.

    A bulk update skips ``auto_now``, so ``updated_at`` is set here: the availability ETag
    depends on it.
    """
    return spots.exclude(active=active).update(active=active, updated_at=timezone.now())
