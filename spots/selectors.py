"""Reads of parking spots: live availability and radius search at city scale."""

import math

from django.db.models import Count, Expression, FloatField, Max, QuerySet, Value
from django.db.models.functions import ASin, Cast, Cos, Power, Radians, Sin, Sqrt

from spots.models import ParkingSpot, lat_band_of

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_OF_LATITUDE = math.pi * EARTH_RADIUS_M / 180

# A nearest-N search first looks within this fraction of the radius: in a dense area the N
# nearest are found there, and reading a small circle is far cheaper than the whole one.
NEAREST_FIRST_TRY_FRACTION = 0.25


def available_spots() -> QuerySet[ParkingSpot]:
    """Spots that can be reserved now: active and not covered by a live reservation.

    Reservations do not exist yet, so every active spot is free; this is the one place that
    will exclude the spots a live reservation covers.
    """
    return ParkingSpot.objects.filter(active=True)


def available_spots_fingerprint() -> str:
    """Changes whenever the set of available spots or any of their fields changes.

    Cheap compared with the list itself, so a client polling with ``If-None-Match`` gets a 304
    without the list being read. Every write to a spot moves ``updated_at`` (``auto_now``), and
    a removed spot changes the count.
    """
    summary = available_spots().aggregate(count=Count("id"), last_change=Max("updated_at"))
    last_change = summary["last_change"].timestamp() if summary["last_change"] else 0
    return f"{summary['count']}-{last_change:.6f}"


def distance_m_from(*, lat: float, lng: float) -> Expression:
    """Great-circle (haversine) distance in metres from a point to each spot."""
    spot_lat = Radians(Cast("lat", FloatField()))
    spot_lng = Radians(Cast("lng", FloatField()))
    half_dlat = (spot_lat - Value(math.radians(lat))) / Value(2.0)
    half_dlng = (spot_lng - Value(math.radians(lng))) / Value(2.0)
    chord = Power(Sin(half_dlat), 2) + Cos(spot_lat) * Value(math.cos(math.radians(lat))) * Power(
        Sin(half_dlng), 2
    )
    return Value(2 * EARTH_RADIUS_M) * ASin(Sqrt(chord))


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
        lat__gte=south,
        lat__lte=north,
    )
    cos_lat = math.cos(math.radians(lat))
    if cos_lat <= math.sin(angular_radius):
        return queryset  # the circle holds a pole: every longitude
    # Widest longitude reach of a circle on the sphere, exact (not the flat approximation).
    dlng = math.degrees(math.asin(math.sin(angular_radius) / cos_lat))
    return queryset.filter(lng__gte=lng - dlng, lng__lte=lng + dlng)


def _available_spots_within(*, lat: float, lng: float, radius_m: float) -> QuerySet[ParkingSpot]:
    boxed = _within_bounding_box(available_spots(), lat=lat, lng=lng, radius_m=radius_m)
    return boxed.annotate(distance_m=distance_m_from(lat=lat, lng=lng)).filter(
        distance_m__lte=radius_m
    )


def available_spots_near(
    *, lat: float, lng: float, radius_m: float, limit: int | None = None
) -> QuerySet[ParkingSpot]:
    """Available spots within ``radius_m`` of the point, nearest first, annotated with
    ``distance_m``; at most ``limit`` of them if given."""
    if limit is None:
        return _available_spots_within(lat=lat, lng=lng, radius_m=radius_m).order_by(
            "distance_m", "id"
        )
    first_try_m = radius_m * NEAREST_FIRST_TRY_FRACTION
    small_circle = _available_spots_within(lat=lat, lng=lng, radius_m=first_try_m)
    # If the small circle holds `limit` spots, they are the nearest: any spot nearer than the
    # farthest of them lies inside the small circle too.
    if small_circle.values("id")[:limit].count() == limit:
        search_radius_m = first_try_m
    else:
        search_radius_m = radius_m
    return _available_spots_within(lat=lat, lng=lng, radius_m=search_radius_m).order_by(
        "distance_m", "id"
    )[:limit]
