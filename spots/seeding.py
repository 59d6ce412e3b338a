"""Synthetic parking spots along New York City's streets, for demos and benchmarks.

The model is rough on purpose; it only has to look like a city on the map:

- Every spot lies inside ``NYC_BOUNDS``. The five boroughs are hand-traced polygons, coarse but
  on land, with the rivers and bays between them left empty.
- A spot first picks its borough by share (Manhattan 40 %, Brooklyn 22 %, Queens 22 %, the Bronx
  10 %, Staten Island 6 %), then a random point on that borough's land. Manhattan's spots are
  twice as dense below 59th St as above it, and Central Park has none. A million spots give
  about 11,000 per km² in Manhattan below 59th St (some 22,700 within half a mile of Midtown),
  5,600 above it, and 600-1,500 in the outer boroughs.
- Each borough has one street grid. Manhattan's avenues run 29° east of true north, 250 m
  apart, with cross streets every 80 m, anchored at Columbus Circle (59th St and 8th Ave); the
  outer boroughs get plainer grids (streets 80 m, avenues 200 m). The point moves to the nearest
  street or avenue (picked in proportion to their length), then to the curb on either side, so
  spots line up along streets rather than scattering like noise.
- Hourly rates, in $0.25 steps: $5-$8 in Manhattan below 59th St, $3-$5 above it, $1-$4 in the
  outer boroughs.
- A bounding box restricts the same model to the box: each borough keeps its share in proportion
  to its land inside the box. A box with almost no land (under 1 % of it) gets spots spread
  evenly over a plain street grid laid across the box instead.

One ``random.Random(seed)`` drives everything, so a seed and a count always give the same spots,
and a larger count only adds spots after the same first ones.
"""

import math
import random
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from itertools import accumulate, islice
from typing import NamedTuple

from django.db import connection, reset_queries, transaction
from django.utils import timezone

from spots.models import ParkingSpot, lat_band_of

DEFAULT_SEED = 42
DEFAULT_BATCH_SIZE = 5_000

# Flat-earth metres around New York: good to well under 1 % across the city.
METRES_PER_DEGREE_LAT = 111_132.0
METRES_PER_DEGREE_LNG = 111_320.0 * math.cos(math.radians(40.7))

# Parked cars sit about this far from the centre line of the street they are on.
STREET_CURB_OFFSET_M = 5.0
AVENUE_CURB_OFFSET_M = 10.0

# Below this share of the box being land, a box gets the plain street grid (see module doc).
MIN_LAND_SHARE_OF_BOX = 0.01
# A point is drawn, snapped to a street and checked this many times before we give up: only a
# box too small to hold any curb of the street grid gets there.
MAX_ATTEMPTS_PER_SPOT = 100_000
# Land areas are estimated by counting the points of a lattice this many points on a side.
LAND_LATTICE_SIDE = 64


class InvalidBoundingBox(ValueError):
    """A bounding box that is malformed, outside New York City, or too small to hold a street."""


class SpotRow(NamedTuple):
    lat: Decimal
    lng: Decimal
    rate: Decimal
    lat_band: int


@dataclass(frozen=True)
class BoundingBox:
    south: float
    west: float
    north: float
    east: float

    def __post_init__(self) -> None:
        if not all(map(math.isfinite, (self.south, self.west, self.north, self.east))):
            raise InvalidBoundingBox("coordinates must be finite numbers")
        if self.south >= self.north:
            raise InvalidBoundingBox("south must be less than north")
        if self.west >= self.east:
            raise InvalidBoundingBox("west must be less than east")

    @property
    def area(self) -> float:
        """In square degrees: only ever compared with other boxes' areas."""
        return (self.north - self.south) * (self.east - self.west)

    def contains(self, lat: float, lng: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lng <= self.east

    def intersection(self, other: "BoundingBox") -> "BoundingBox | None":
        south, north = max(self.south, other.south), min(self.north, other.north)
        west, east = max(self.west, other.west), min(self.east, other.east)
        if south >= north or west >= east:
            return None
        return BoundingBox(south, west, north, east)


NYC_BOUNDS = BoundingBox(south=40.56, west=-74.21, north=40.86, east=-73.746)


@dataclass(frozen=True)
class StreetGrid:
    """Parallel avenues crossed at right angles by streets, turned ``angle_deg`` from north."""

    origin_lat: float
    origin_lng: float
    angle_deg: float
    street_spacing_m: float
    avenue_spacing_m: float
    _sin: float = field(init=False, repr=False)
    _cos: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sin", math.sin(math.radians(self.angle_deg)))
        object.__setattr__(self, "_cos", math.cos(math.radians(self.angle_deg)))

    @property
    def street_share(self) -> float:
        """The share of all curb length that lies on streets rather than avenues."""
        return self.avenue_spacing_m / (self.avenue_spacing_m + self.street_spacing_m)

    def to_grid(self, lat: float, lng: float) -> tuple[float, float]:
        """Metres (along the avenues, across them towards the east) from the grid's origin."""
        x = (lng - self.origin_lng) * METRES_PER_DEGREE_LNG
        y = (lat - self.origin_lat) * METRES_PER_DEGREE_LAT
        return x * self._sin + y * self._cos, x * self._cos - y * self._sin

    def to_lat_lng(self, along: float, across: float) -> tuple[float, float]:
        x = along * self._sin + across * self._cos
        y = along * self._cos - across * self._sin
        return (
            self.origin_lat + y / METRES_PER_DEGREE_LAT,
            self.origin_lng + x / METRES_PER_DEGREE_LNG,
        )

    def snap_to_curb(self, lat: float, lng: float, rng: random.Random) -> tuple[float, float]:
        along, across = self.to_grid(lat, lng)
        side = 1 if rng.random() < 0.5 else -1
        if rng.random() < self.street_share:
            street = round(along / self.street_spacing_m) * self.street_spacing_m
            along = street + side * STREET_CURB_OFFSET_M
        else:
            avenue = round(across / self.avenue_spacing_m) * self.avenue_spacing_m
            across = avenue + side * AVENUE_CURB_OFFSET_M
        return self.to_lat_lng(along, across)


def _rates(low_dollars: int, high_dollars: int) -> tuple[Decimal, ...]:
    return tuple(
        Decimal(cents).scaleb(-2) for cents in range(low_dollars * 100, high_dollars * 100 + 1, 25)
    )


BELOW_59TH_ST_RATES = _rates(5, 8)
UPPER_MANHATTAN_RATES = _rates(3, 5)
OUTER_BOROUGH_RATES = _rates(1, 4)


@dataclass(frozen=True)
class Borough:
    name: str
    share: float
    outline: tuple[tuple[float, float], ...]  # (lat, lng) corners, in order around the edge
    grid: StreetGrid

    @property
    def bounds(self) -> BoundingBox:
        lats = [lat for lat, _ in self.outline]
        lngs = [lng for _, lng in self.outline]
        return BoundingBox(min(lats), min(lngs), max(lats), max(lngs))

    def contains(self, lat: float, lng: float) -> bool:
        inside = False
        previous_lat, previous_lng = self.outline[-1]
        for corner_lat, corner_lng in self.outline:
            if (corner_lat > lat) != (previous_lat > lat):
                edge_lng = corner_lng + (lat - corner_lat) * (previous_lng - corner_lng) / (
                    previous_lat - corner_lat
                )
                if lng < edge_lng:
                    inside = not inside
            previous_lat, previous_lng = corner_lat, corner_lng
        return inside

    def density_at(self, lat: float, lng: float) -> float:
        """Spots per area here relative to the borough's densest part, from 0 to 1."""
        return 1.0 if self.contains(lat, lng) else 0.0

    def rates_at(self, lat: float, lng: float) -> tuple[Decimal, ...]:
        return OUTER_BOROUGH_RATES


# Manhattan's grid measured from Columbus Circle: 110th St is 51 streets north of 59th, and
# Central Park runs from Central Park West (8th Ave) to 5th Ave, three avenues east.
MANHATTAN_GRID = StreetGrid(
    origin_lat=40.768100,
    origin_lng=-73.981900,
    angle_deg=29.0,
    street_spacing_m=80.0,
    avenue_spacing_m=250.0,
)
CENTRAL_PARK_ALONG_M = (0.0, 51 * MANHATTAN_GRID.street_spacing_m)
CENTRAL_PARK_ACROSS_M = (0.0, 3 * MANHATTAN_GRID.avenue_spacing_m)
UPPER_MANHATTAN_DENSITY = 0.5


@dataclass(frozen=True)
class Manhattan(Borough):
    def density_at(self, lat: float, lng: float) -> float:
        if not self.contains(lat, lng):
            return 0.0
        along, across = self.grid.to_grid(lat, lng)
        if along < 0:
            return 1.0
        in_central_park = (
            CENTRAL_PARK_ALONG_M[0] < along < CENTRAL_PARK_ALONG_M[1]
            and CENTRAL_PARK_ACROSS_M[0] < across < CENTRAL_PARK_ACROSS_M[1]
        )
        return 0.0 if in_central_park else UPPER_MANHATTAN_DENSITY

    def rates_at(self, lat: float, lng: float) -> tuple[Decimal, ...]:
        along, _ = self.grid.to_grid(lat, lng)
        return BELOW_59TH_ST_RATES if along < 0 else UPPER_MANHATTAN_RATES


MANHATTAN = Manhattan(
    name="Manhattan",
    share=0.40,
    outline=(
        (40.7003, -74.0153),  # the Battery, then up the Hudson
        (40.7085, -74.0190),
        (40.7200, -74.0135),
        (40.7350, -74.0110),
        (40.7490, -74.0090),
        (40.7620, -74.0010),
        (40.7730, -73.9945),
        (40.7880, -73.9830),
        (40.8030, -73.9720),
        (40.8200, -73.9610),
        (40.8380, -73.9500),
        (40.8550, -73.9400),
        (40.8700, -73.9310),
        (40.8780, -73.9250),  # Inwood, then down the Harlem River
        (40.8740, -73.9110),
        (40.8630, -73.9150),
        (40.8480, -73.9270),
        (40.8340, -73.9340),
        (40.8180, -73.9340),
        (40.8030, -73.9300),
        (40.7950, -73.9290),  # then down the East River
        (40.7850, -73.9410),
        (40.7750, -73.9430),
        (40.7620, -73.9560),
        (40.7480, -73.9680),
        (40.7350, -73.9740),
        (40.7260, -73.9720),
        (40.7130, -73.9770),
        (40.7100, -73.9900),
        (40.7050, -73.9990),
        (40.7015, -74.0090),
    ),
    grid=MANHATTAN_GRID,
)

# Brooklyn and Queens share these corners, from Newtown Creek south to Jamaica Bay.
_BROOKLYN_QUEENS_LINE = (
    (40.7370, -73.9570),
    (40.7280, -73.9300),
    (40.7100, -73.9200),
    (40.7000, -73.9000),
    (40.6900, -73.8700),
    (40.6800, -73.8650),
    (40.6500, -73.8600),
)

BROOKLYN = Borough(
    name="Brooklyn",
    share=0.22,
    outline=(
        *_BROOKLYN_QUEENS_LINE,
        (40.6300, -73.8850),  # Canarsie, then along Jamaica Bay and the Atlantic
        (40.6150, -73.9050),
        (40.5950, -73.9180),
        (40.5830, -73.9250),
        (40.5760, -73.9400),
        (40.5730, -73.9800),  # Coney Island
        (40.5740, -74.0100),
        (40.5800, -74.0120),
        (40.5900, -73.9980),  # Gravesend Bay, then up the Narrows and the harbour
        (40.6000, -74.0080),
        (40.6090, -74.0340),
        (40.6200, -74.0420),
        (40.6350, -74.0380),
        (40.6500, -74.0220),
        (40.6600, -74.0120),
        (40.6750, -74.0180),  # Red Hook, then up the East River
        (40.6850, -74.0030),
        (40.6950, -73.9990),
        (40.7020, -73.9900),
        (40.7050, -73.9730),
        (40.7200, -73.9620),
    ),
    grid=StreetGrid(
        origin_lat=40.674000,
        origin_lng=-73.970000,
        angle_deg=15.0,
        street_spacing_m=80.0,
        avenue_spacing_m=200.0,
    ),
)

QUEENS = Borough(
    name="Queens",
    share=0.22,
    outline=(
        (40.7500, -73.9580),  # Long Island City, then up the East River
        (40.7600, -73.9450),
        (40.7720, -73.9330),
        (40.7800, -73.9220),
        (40.7790, -73.9000),
        (40.7780, -73.8750),  # LaGuardia, around Flushing Bay
        (40.7700, -73.8600),
        (40.7650, -73.8480),
        (40.7880, -73.8470),
        (40.7950, -73.8250),
        (40.7950, -73.8000),
        (40.7850, -73.7800),
        (40.7700, -73.7550),
        (40.7600, -73.7000),  # the Nassau County line
        (40.7000, -73.7000),
        (40.6550, -73.7250),
        (40.6350, -73.7900),  # JFK, then along Jamaica Bay
        (40.6500, -73.8300),
        *reversed(_BROOKLYN_QUEENS_LINE),
    ),
    grid=StreetGrid(
        origin_lat=40.742000,
        origin_lng=-73.887000,
        angle_deg=0.0,
        street_spacing_m=80.0,
        avenue_spacing_m=200.0,
    ),
)

BRONX = Borough(
    name="Bronx",
    share=0.10,
    outline=(
        (40.9150, -73.9100),  # Riverdale, then down the Harlem River
        (40.8800, -73.9200),
        (40.8740, -73.9080),
        (40.8630, -73.9120),
        (40.8480, -73.9230),
        (40.8340, -73.9300),
        (40.8180, -73.9300),
        (40.8080, -73.9280),
        (40.8010, -73.9150),  # Port Morris, then along the East River
        (40.8050, -73.8900),
        (40.8120, -73.8650),
        (40.8050, -73.8500),
        (40.8150, -73.8300),
        (40.8000, -73.8150),
        (40.8050, -73.7900),  # Throgs Neck, then up Long Island Sound
        (40.8350, -73.8050),
        (40.8600, -73.7850),
        (40.8800, -73.7900),
        (40.9050, -73.8100),
        (40.9150, -73.8400),
    ),
    grid=StreetGrid(
        origin_lat=40.844800,
        origin_lng=-73.864800,
        angle_deg=0.0,
        street_spacing_m=80.0,
        avenue_spacing_m=200.0,
    ),
)

STATEN_ISLAND = Borough(
    name="Staten Island",
    share=0.06,
    outline=(
        (40.6450, -74.0780),  # St George, then down the Narrows and Lower Bay
        (40.6400, -74.0720),
        (40.6150, -74.0620),
        (40.5950, -74.0650),
        (40.5750, -74.0850),
        (40.5550, -74.1100),
        (40.5400, -74.1400),
        (40.5200, -74.1800),
        (40.5050, -74.2450),  # Tottenville, then up the Arthur Kill
        (40.5250, -74.2500),
        (40.5550, -74.2150),
        (40.5900, -74.2000),
        (40.6150, -74.2000),
        (40.6350, -74.1900),
        (40.6450, -74.1750),  # then along the Kill van Kull
        (40.6450, -74.1300),
        (40.6430, -74.1000),
    ),
    grid=StreetGrid(
        origin_lat=40.579500,
        origin_lng=-74.150200,
        angle_deg=30.0,
        street_spacing_m=80.0,
        avenue_spacing_m=200.0,
    ),
)

BOROUGHS = (MANHATTAN, BROOKLYN, QUEENS, BRONX, STATEN_ISLAND)


def clip_to_nyc(bbox: BoundingBox) -> BoundingBox:
    """The part of ``bbox`` inside New York City; raises InvalidBoundingBox if there is none."""
    inside = bbox.intersection(NYC_BOUNDS)
    if inside is None:
        raise InvalidBoundingBox(
            f"must overlap New York City (S,W,N,E = {NYC_BOUNDS.south},{NYC_BOUNDS.west},"
            f"{NYC_BOUNDS.north},{NYC_BOUNDS.east})"
        )
    return inside


def generate_spots(
    *, count: int, seed: int = DEFAULT_SEED, bbox: BoundingBox | None = None
) -> Iterator[SpotRow]:
    """``count`` spots from the street model (see module doc), lazily, in a reproducible order.

    Raises InvalidBoundingBox at once for a box outside New York City, and while iterating for a
    box too small to hold a curb of the street grid.
    """
    area = NYC_BOUNDS if bbox is None else clip_to_nyc(bbox)
    boroughs, weights = _boroughs_weighted_within(area)
    cumulative_weights = list(accumulate(weights))
    return _spots(count, random.Random(seed), area, boroughs, cumulative_weights)


def _spots(
    count: int,
    rng: random.Random,
    area: BoundingBox,
    boroughs: tuple[Borough, ...],
    cumulative_weights: list[float],
) -> Iterator[SpotRow]:
    sampling_boxes = [borough.bounds.intersection(area) for borough in boroughs]
    total_weight = cumulative_weights[-1]
    for _ in range(count):
        chosen = bisect(cumulative_weights, rng.random() * total_weight)
        chosen = min(chosen, len(boroughs) - 1)  # guards against rounding at the top end
        yield _spot_in(boroughs[chosen], sampling_boxes[chosen], area, rng)


def _spot_in(
    borough: Borough, sampling_box: BoundingBox, area: BoundingBox, rng: random.Random
) -> SpotRow:
    height = sampling_box.north - sampling_box.south
    width = sampling_box.east - sampling_box.west
    for _ in range(MAX_ATTEMPTS_PER_SPOT):
        lat = sampling_box.south + rng.random() * height
        lng = sampling_box.west + rng.random() * width
        if rng.random() >= borough.density_at(lat, lng):
            continue
        lat, lng = borough.grid.snap_to_curb(lat, lng, rng)
        lat, lng = round(lat, 6), round(lng, 6)
        # The curb may be across the water or inside the park: draw again.
        if not area.contains(lat, lng) or borough.density_at(lat, lng) == 0:
            continue
        rates = borough.rates_at(lat, lng)
        lat_decimal = Decimal(f"{lat:.6f}")
        return SpotRow(
            lat=lat_decimal,
            lng=Decimal(f"{lng:.6f}"),
            rate=rates[int(rng.random() * len(rates))],
            lat_band=lat_band_of(lat_decimal),
        )
    raise InvalidBoundingBox("too small to hold a street of the model; make it larger")


def _boroughs_weighted_within(area: BoundingBox) -> tuple[tuple[Borough, ...], list[float]]:
    """Boroughs with land in ``area``, weighted by share times the part of their land there."""
    boroughs, weights = [], []
    for borough in BOROUGHS:
        land_in_area = _weighted_land_area(borough, area)
        if land_in_area > 0:
            boroughs.append(borough)
            weights.append(borough.share * land_in_area / _weighted_land_area(borough, NYC_BOUNDS))
    land = sum(_weighted_land_area(borough, area) for borough in boroughs)
    if land < MIN_LAND_SHARE_OF_BOX * area.area:
        return (_open_ground(area),), [1.0]
    return tuple(boroughs), weights


@cache
def _weighted_land_area(borough: Borough, area: BoundingBox) -> float:
    """The borough's land inside ``area``, in square degrees, each part counted by its density."""
    overlap = borough.bounds.intersection(area)
    if overlap is None:
        return 0.0
    lat_step = (overlap.north - overlap.south) / LAND_LATTICE_SIDE
    lng_step = (overlap.east - overlap.west) / LAND_LATTICE_SIDE
    density_sum = sum(
        borough.density_at(
            overlap.south + (row + 0.5) * lat_step, overlap.west + (col + 0.5) * lng_step
        )
        for row in range(LAND_LATTICE_SIDE)
        for col in range(LAND_LATTICE_SIDE)
    )
    return density_sum * lat_step * lng_step


def _open_ground(area: BoundingBox) -> Borough:
    """The whole box as one borough, its grid centred so that even a small box holds a street."""
    return Borough(
        name="Open ground",
        share=1.0,
        outline=(
            (area.south, area.west),
            (area.north, area.west),
            (area.north, area.east),
            (area.south, area.east),
        ),
        grid=StreetGrid(
            origin_lat=(area.south + area.north) / 2,
            origin_lng=(area.west + area.east) / 2,
            angle_deg=0.0,
            street_spacing_m=80.0,
            avenue_spacing_m=200.0,
        ),
    )


def insert_spots(
    rows: Iterable[SpotRow],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], object] = lambda inserted: None,
) -> int:
    """Insert ``rows`` as active spots, all or none, calling ``progress`` after each batch.

    Memory stays flat however many rows come: they are read and written a batch at a time. On
    PostgreSQL the rows go in by COPY and the table's statistics and visibility map are then
    refreshed, so searches can be answered by index-only scans straight away.
    """
    if connection.vendor == "postgresql":
        inserted = _copy_spots(rows, batch_size=batch_size, progress=progress)
        _refresh_planner_statistics()
        return inserted
    return _bulk_create_spots(rows, batch_size=batch_size, progress=progress)


def _batches(rows: Iterable[SpotRow], size: int) -> Iterator[list[SpotRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _copy_spots(
    rows: Iterable[SpotRow], *, batch_size: int, progress: Callable[[int], object]
) -> int:
    now = timezone.now()
    table = connection.ops.quote_name(ParkingSpot._meta.db_table)
    statement = (
        f"COPY {table} (lat, lng, rate, active, lat_band, created_at, updated_at) FROM STDIN"
    )
    inserted = 0
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for batch in _batches(rows, batch_size):
            for row in batch:
                copy.write_row((row.lat, row.lng, row.rate, True, row.lat_band, now, now))
            inserted += len(batch)
            progress(len(batch))
    return inserted


def _refresh_planner_statistics() -> None:
    table = connection.ops.quote_name(ParkingSpot._meta.db_table)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # VACUUM cannot run inside a transaction (a caller's, or a test's); ANALYZE can, and
            # still gives the planner the new row counts.
            cursor.execute(f"ANALYZE {table}")
            return
        # VACUUM also sets the visibility map, without which an index-only scan still reads
        # every heap page it finds a row on.
        cursor.execute(f"VACUUM (ANALYZE) {table}")


def _bulk_create_spots(
    rows: Iterable[SpotRow], *, batch_size: int, progress: Callable[[int], object]
) -> int:
    inserted = 0
    with transaction.atomic():
        for batch in _batches(rows, batch_size):
            ParkingSpot.objects.bulk_create(
                [
                    ParkingSpot(lat=row.lat, lng=row.lng, rate=row.rate, lat_band=row.lat_band)
                    for row in batch
                ],
                batch_size=batch_size,
            )
            # With DEBUG on, Django keeps the SQL of every query, here megabytes a batch.
            reset_queries()
            inserted += len(batch)
            progress(len(batch))
    return inserted
