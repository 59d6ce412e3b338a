"""Reads of parking spots: live availability and radius search at city scale."""

import math
from datetime import datetime, timedelta

from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import Mod
from django.utils import timezone

from reservations.selectors import live_reservations_during, spot_is_held_during
from spots.models import ParkingSpot, lat_band_of
from spots.sql import EARTH_RADIUS_M, HaversineMetres

AN_INSTANT = timedelta(microseconds=1)
# Reservation ids are summed modulo these primes for the availability fingerprint: small enough
# that a city's worth of sums fits a 64-bit integer on every database; two of them make two
# different sets of reservations with equal sums a one-in-10^12 chance.
ID_SUM_MODULI = (1_000_003, 999_983)


# A nearest-N search first looks within these fractions of the radius, smallest first: in a
# dense area the N nearest are found in a small circle, far cheaper to read than the whole one.
NEAREST_TRY_FRACTIONS = (0.1, 0.3)


def available_spots(
    *, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[ParkingSpot]:
    """Active spots no live reservation holds at any instant of ``[start, end)``; by default,
    at this instant."""
    start = start or timezone.now()
    end = end or start + AN_INSTANT
    return ParkingSpot.objects.filter(active=True).exclude(spot_is_held_during(start, end))


def available_spots_fingerprint(
    *, start: datetime | None = None, end: datetime | None = None
) -> str:
    """Changes whenever the set of spots available now (or for ``[start, end)``), or any of
    their fields, changes.

    Much cheaper than the list, so a client polling with ``If-None-Match`` gets its 304
    without the list being read. Every write to a spot moves ``updated_at`` (``auto_now``),
    and a removed spot changes the count. Reservations change availability by the clock
    alone (one starts or ends without any write), so the live reservations covering now are
    summed by id: any change to that set changes the sum.
    """
    start = start or timezone.now()
    spots = ParkingSpot.objects.filter(active=True).aggregate(
        count=Count("id"), last_change=Max("updated_at")
    )
    holding = live_reservations_during(start=start, end=end or start + AN_INSTANT)
    held = holding.aggregate(
        count=Count("id"), **{f"sum_{m}": Sum(Mod("id", m)) for m in ID_SUM_MODULI}
    )
    last_change = spots["last_change"].timestamp() if spots["last_change"] else 0
    sums = "-".join(str(held[f"sum_{m}"] or 0) for m in ID_SUM_MODULI)
    return f"{spots['count']}-{last_change:.6f}-{held['count']}-{sums}"


def _within_bounding_box(
    queryset: QuerySet[ParkingSpot], *, lat: float, lng: float, radius_m: float
) -> QuerySet[ParkingSpot]:
    """Narrow to the latitude bands and longitude range around the circle: an index range scan
    per band on (lat_band, lng)."""
    angular_radius = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angular_radius)
    south, north = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
    queryset = queryset.filter(
        lat_band__in=range(lat_band_of(south), lat_band_of(north) + 1),
        lat__range=(south, north),
    )
    cos_lat = math.cos(math.radians(lat))
    if cos_lat <= math.sin(angular_radius):
        return queryset  # the circle holds a pole: every longitude
    # Widest longitude reach of a circle on the sphere, exact (not the flat approximation).
    dlng = math.degrees(math.asin(math.sin(angular_radius) / cos_lat))
    return queryset.filter(lng__range=(lng - dlng, lng + dlng))


def _within_circle(
    available: QuerySet[ParkingSpot], *, lat: float, lng: float, radius_m: float
) -> QuerySet[ParkingSpot]:
    boxed = _within_bounding_box(available, lat=lat, lng=lng, radius_m=radius_m)
    return boxed.annotate(distance_m=HaversineMetres(lat=lat, lng=lng)).filter(
        distance_m__lte=radius_m
    )


def available_spots_near(
    *,
    lat: float,
    lng: float,
    radius_m: float,
    limit: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[ParkingSpot]:
    """Spots available for ``[start, end)`` (default: now) within ``radius_m`` of the point,
    nearest first, annotated with ``distance_m``; at most ``limit`` of them if given."""
    available = available_spots(start=start, end=end)
    if limit is None:
        return _within_circle(available, lat=lat, lng=lng, radius_m=radius_m).order_by(
            "distance_m", "id"
        )
    search_radius_m = radius_m
    for fraction in NEAREST_TRY_FRACTIONS:
        small_circle = _within_circle(available, lat=lat, lng=lng, radius_m=radius_m * fraction)
        # If the small circle holds `limit` spots, they are the nearest: any spot nearer than
        # the farthest of them lies inside the small circle too.
        if small_circle.values("id")[:limit].count() == limit:
            search_radius_m = radius_m * fraction
            break
    return _within_circle(available, lat=lat, lng=lng, radius_m=search_radius_m).order_by(
        "distance_m", "id"
    )[:limit]
