"""The live benchmark's parts that run inside Django, in a ``DjangoProcess`` child: the boxes
the maps watch, the spots that change, and what is available at the end.

Only that child imports this module (Django is set up there alone), so the functions here take
and return plain data.
"""

import random

from bench.search_django import AREAS, query_points
from spots.selectors import available_spots

Box = tuple[float, float, float, float]  # south, west, north, east
PlacedSpot = tuple[int, float, float]  # id, lat, lng

# Half of a box's side, in degrees: 500 m north-south, and east-west at Manhattan's latitude.
HALF_BOX_LAT = 0.0045
HALF_BOX_LNG = 0.0059
AREA = "manhattan"


def subscriber_boxes(count: int, seed: int) -> list[Box]:
    """``count`` boxes about 1 km across, centred on random points of Manhattan's dense part,
    rounded to 6 decimals as a map sends them."""
    return [
        (
            round(lat - HALF_BOX_LAT, 6),
            round(lng - HALF_BOX_LNG, 6),
            round(lat + HALF_BOX_LAT, 6),
            round(lng + HALF_BOX_LNG, 6),
        )
        for lat, lng in query_points(AREA, count, seed)
    ]


def changing_spots(bookings: int, ends: int, seed: int) -> tuple[list[int], list[int]]:
    """Two disjoint random samples of the available spots where the boxes are drawn: the ones
    to book, and the ones whose running reservations the engine is to end."""
    borough = AREAS[AREA]
    box = borough.bounds
    candidates = [
        spot_id
        for spot_id, lat, lng in available_spots()
        .filter(lat__range=(box.south, box.north), lng__range=(box.west, box.east))
        .order_by("id")
        .values_list("id", "lat", "lng")
        if borough.density_at(float(lat), float(lng)) == 1.0
    ]
    if len(candidates) < bookings + ends:
        raise RuntimeError(f"{len(candidates):,} spots to change, {bookings + ends:,} needed")
    chosen = random.Random(seed).sample(candidates, bookings + ends)
    return chosen[:bookings], chosen[bookings:]


def available_placed_spots(box: Box) -> list[PlacedSpot]:
    """Every spot available now inside ``box``, with its place: what every map's view is
    checked against."""
    south, west, north, east = box
    return [
        (spot_id, float(lat), float(lng))
        for spot_id, lat, lng in available_spots()
        .filter(lat__range=(south, north), lng__range=(west, east))
        .values_list("id", "lat", "lng")
    ]
