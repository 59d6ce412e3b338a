"""The search benchmark's parts that run inside Django, in a ``DjangoProcess`` child.

Only that child imports this module (Django is set up there alone), so the functions here take
and return plain data: coordinates, SQL text and ``Summary`` figures.
"""

import math
import random
import time
from collections.abc import Callable, Sequence

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.stats import Summary, summarize
from spots.models import ParkingSpot
from spots.seeding import MANHATTAN, STATEN_ISLAND, Borough
from spots.selectors import EARTH_RADIUS_M, available_spot_ids_near, available_spots_near

Point = tuple[float, float]

# Where the seeding model puts spots most densely in each borough: in Manhattan below 59th St
# (Midtown and downtown), and anywhere in Staten Island, the sparsest borough.
AREAS: dict[str, Borough] = {"manhattan": MANHATTAN, "staten-island": STATEN_ISLAND}
MAX_DRAWS_PER_POINT = 10_000
ALLOWED_HOST = "127.0.0.1"
INDEXED_TIME_CAP_S = 30.0


def query_points(area: str, count: int, seed: int) -> list[Point]:
    """``count`` points drawn uniformly over the land where ``area``'s spots are densest."""
    borough = AREAS[area]
    box = borough.bounds
    rng = random.Random(seed)
    points: list[Point] = []
    for _ in range(count * MAX_DRAWS_PER_POINT):
        lat = round(rng.uniform(box.south, box.north), 6)
        lng = round(rng.uniform(box.west, box.east), 6)
        if borough.density_at(lat, lng) == 1.0:
            points.append((lat, lng))
            if len(points) == count:
                return points
    raise RuntimeError(f"could not draw {count} points in {area}")


def endpoint_sql(paths: Sequence[str]) -> list[list[str]]:
    """The SQL each request runs, as sent to PostgreSQL, in order: the view itself answers
    through Django's test client, so nothing here restates what the endpoint does."""
    client = Client(HTTP_HOST=ALLOWED_HOST)
    captured = []
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.content[:200]}")
        captured.append([query["sql"] for query in queries.captured_queries])
    return captured


def naive_versus_indexed(
    points: Sequence[Point], radius_m: float, naive_runs: int, indexed_runs: int
) -> tuple[Summary, Summary, int]:
    """Single-threaded timings of the naive search and of the endpoint's index-backed one at
    the same points, and at how many of the naive runs' points the two found different spots."""
    naive_latencies, naive_rows, disagreements = [], 0, 0
    for lat, lng in points[:naive_runs]:
        elapsed, nearby = _timed(_naive_nearby, lat, lng, radius_m)
        naive_latencies.append(elapsed)
        naive_rows += len(nearby)
        indexed_ids = available_spot_ids_near(lat=lat, lng=lng, radius_m=radius_m)
        disagreements += [spot.id for spot in nearby] != indexed_ids

    indexed_latencies, indexed_rows = [], 0
    deadline = time.monotonic() + INDEXED_TIME_CAP_S
    for run in range(indexed_runs):
        lat, lng = points[run % len(points)]
        elapsed, rows = _timed(_indexed_nearby, lat, lng, radius_m)
        indexed_latencies.append(elapsed)
        indexed_rows += len(rows)
        if time.monotonic() > deadline:
            break
    return (
        summarize(naive_latencies, errors=0, rows=naive_rows, wall_s=sum(naive_latencies)),
        summarize(indexed_latencies, errors=0, rows=indexed_rows, wall_s=sum(indexed_latencies)),
        disagreements,
    )


def _timed(search: Callable[[float, float, float], list], *args: float) -> tuple[float, list]:
    started = time.perf_counter()
    found = search(*args)
    return time.perf_counter() - started, found


def _naive_nearby(lat: float, lng: float, radius_m: float) -> list[ParkingSpot]:
    """The original search: every active spot into Python, its distance worked out there."""
    nearby = []
    for spot in ParkingSpot.objects.filter(active=True):
        spot.distance_m = _haversine_m(lat, lng, float(spot.lat), float(spot.lng))
        if spot.distance_m <= radius_m:
            nearby.append(spot)
    nearby.sort(key=lambda spot: (spot.distance_m, spot.id))
    return nearby


def _indexed_nearby(lat: float, lng: float, radius_m: float) -> list[str]:
    """What the filter endpoint evaluates for a full radius search: the selector, rendered."""
    return available_spots_near(lat=lat, lng=lng, radius_m=radius_m, unit="km")


def _haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lng2 - lng1) / 2
    chord = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(chord))
