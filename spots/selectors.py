"""Reads of parking spots: live availability and radius search at city scale."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    FloatField,
    IntegerField,
    Max,
    QuerySet,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Mod
from django.utils import timezone

from securemyspot.prepared import Param, PreparedQuery
from spots.holds import holds_during, spot_is_held_during
from spots.models import AvailabilityEvent, AvailabilitySequence, ParkingSpot, lat_band_of
from spots.sql import EARTH_RADIUS_M, HaversineMetres, haversine_origin, spot_json_rows

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
    holding = holds_during(start=start, end=end or start + AN_INSTANT)
    held = holding.aggregate(
        count=Count("id"), **{f"sum_{m}": Sum(Mod("id", m)) for m in ID_SUM_MODULI}
    )
    last_change = spots["last_change"].timestamp() if spots["last_change"] else 0
    sums = "-".join(str(held[f"sum_{m}"] or 0) for m in ID_SUM_MODULI)
    return f"{spots['count']}-{last_change:.6f}-{held['count']}-{sums}"


# The search's SQL is compiled once per shape (securemyspot/prepared.py): these are the values
# bound at each call.
LAT_FIELD = ParkingSpot._meta.get_field("lat")
LNG_FIELD = ParkingSpot._meta.get_field("lng")


@dataclass(frozen=True)
class _Search:
    """One radius search, split into the shape of its SQL and the values bound into it."""

    bands: range
    lng_bounded: bool
    values: dict

    @classmethod
    def around(
        cls, *, lat: float, lng: float, radius_m: float, start: datetime, end: datetime
    ) -> "_Search":
        """The latitude bands and longitude range around the circle: an index range scan per
        band on (lat_band, lng)."""
        angular_radius = radius_m / EARTH_RADIUS_M
        dlat = math.degrees(angular_radius)
        south, north = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
        bands = range(lat_band_of(south), lat_band_of(north) + 1)
        values = {
            "south": south,
            "north": north,
            "radius_m": radius_m,
            "start": start,
            "end": end,
            **{f"band{index}": band for index, band in enumerate(bands)},
            **haversine_origin(lat, lng),
        }
        cos_lat = math.cos(math.radians(lat))
        lng_bounded = cos_lat > math.sin(angular_radius)  # else the circle holds a pole
        if lng_bounded:
            # Widest longitude reach of a circle on the sphere, exact (not the flat one).
            dlng = math.degrees(math.asin(math.sin(angular_radius) / cos_lat))
            values |= {"west": lng - dlng, "east": lng + dlng}
        return cls(bands=bands, lng_bounded=lng_bounded, values=values)

    def shape(self, limit: int | None) -> tuple[int, bool, int | None]:
        return (len(self.bands), self.lng_bounded, limit)


def _within_box(band_count: int, lng_bounded: bool) -> QuerySet[ParkingSpot]:
    """Available spots inside the search circle's bounding box, annotated with ``distance_m``
    from its centre, with every value a ``Param`` of ``_Search.values``."""
    datetime_field, float_field = DateTimeField(), FloatField()
    spots = ParkingSpot.objects.filter(active=True).exclude(
        spot_is_held_during(Param("start", datetime_field), Param("end", datetime_field))
    )
    spots = spots.filter(
        lat_band__in=[Param(f"band{index}", IntegerField()) for index in range(band_count)],
        lat__range=(Param("south", LAT_FIELD), Param("north", LAT_FIELD)),
    )
    if lng_bounded:
        spots = spots.filter(lng__range=(Param("west", LNG_FIELD), Param("east", LNG_FIELD)))
    distance = HaversineMetres(
        origin_lat_radians=Param("origin_lat_radians", float_field),
        cos_origin_lat=Param("cos_origin_lat", float_field),
        origin_lng_radians=Param("origin_lng_radians", float_field),
    )
    return spots.annotate(distance_m=distance)


def _nearest_first(
    band_count: int, lng_bounded: bool, limit: int | None, unit: str | None
) -> tuple[str, tuple]:
    """The SQL of a search: each spot's distance is worked out once, in a subquery over the
    bounding box, then filtered, sorted and (with ``unit``) rendered as JSON by the outer
    query. Written as one flat query, the database works out the distance three times a
    spot (filter, sort, JSON): a quarter of the search's time at city density."""
    table = connection.ops.quote_name(ParkingSpot._meta.db_table)
    box = _within_box(band_count, lng_bounded).values(*SPOT_COLUMNS, "distance_m")
    box_sql, box_params = box.query.sql_with_params()
    # The columns of the subquery, read under the table's name so that the JSON expressions
    # written for the table compile unchanged.
    outer = ParkingSpot.objects.annotate(
        distance_m=RawSQL(f'{table}."distance_m"', (), output_field=FloatField())
    ).filter(distance_m__lte=Param("radius_m", FloatField()))
    outer = outer.order_by("distance_m", "id")[:limit]
    rows = spot_json_rows(outer, unit=unit) if unit else outer.values("id")
    outer_sql, outer_params = rows.query.sql_with_params()
    table_from = f" FROM {table} "
    if outer_sql.count(table_from) != 1:
        raise AssertionError(f"cannot find the table in {outer_sql}")
    select, rest = outer_sql.split(table_from)
    # OFFSET 0 keeps PostgreSQL from flattening the subquery back into one level.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    sql = f"{select} FROM ({box_sql}{fence}) {table} {rest}"
    select_params = select.count("%s")
    return sql, (
        *outer_params[:select_params],
        *box_params,
        *outer_params[select_params:],
    )


SPOT_COLUMNS = ("id", "lat", "lng", "rate", "created_at", "updated_at")
_NEAREST_IDS = PreparedQuery(
    lambda band_count, lng_bounded, limit: _nearest_first(band_count, lng_bounded, limit, None)
)
_NEAREST_JSON = PreparedQuery(_nearest_first)


def _nearest(
    query: PreparedQuery,
    shape: tuple,
    *,
    lat: float,
    lng: float,
    radius_m: float,
    limit: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list:
    """The first column of ``query``'s rows for the search. For the ``limit`` nearest, small
    circles are tried first: in a dense area they hold all of them, and are far cheaper to
    read than the whole circle."""
    start = start or timezone.now()
    end = end or start + AN_INSTANT
    fractions = (*NEAREST_TRY_FRACTIONS, 1.0) if limit is not None else (1.0,)
    for fraction in fractions:
        search = _Search.around(
            lat=lat, lng=lng, radius_m=radius_m * fraction, start=start, end=end
        )
        rows = query.rows((*search.shape(limit), *shape), search.values)
        # If the small circle holds `limit` spots, they are the nearest: any spot nearer than
        # the farthest of them lies inside the small circle too.
        if len(rows) == limit or fraction == 1.0:
            return [row[0] for row in rows]
    raise AssertionError("the last fraction is the whole circle")


def available_spots_near(
    *,
    lat: float,
    lng: float,
    radius_m: float,
    unit: str,
    limit: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[str]:
    """Spots available for ``[start, end)`` (default: now) within ``radius_m`` of the point,
    nearest first, at most ``limit`` of them if given: each as the contract's JSON text with
    ``distance`` in ``unit``. Written for the hottest route: see securemyspot/prepared.py."""
    return _nearest(
        _NEAREST_JSON,
        (unit,),
        lat=lat,
        lng=lng,
        radius_m=radius_m,
        limit=limit,
        start=start,
        end=end,
    )


def available_spot_ids_near(**search) -> list[int]:
    """The ids ``available_spots_near`` answers with, in its order; the same keywords but
    ``unit``."""
    return _nearest(_NEAREST_IDS, (), **search)


def available_spots_near_sql(*, lat: float, lng: float, radius_m: float, unit: str) -> tuple:
    """The statement and parameters of a search of the whole circle now (for EXPLAIN)."""
    start = timezone.now()
    search = _Search.around(
        lat=lat, lng=lng, radius_m=radius_m, start=start, end=start + AN_INSTANT
    )
    return _NEAREST_JSON.bound((*search.shape(None), unit), search.values)


# Live availability (docs/live.md): the event outbox and the snapshot it continues from.


@dataclass(frozen=True)
class AvailabilityChange:
    """One event, with where its spot is (to match it against a client's box)."""

    seq: int
    spot_id: int
    kind: str
    created_at: datetime
    lat: float
    lng: float


@dataclass(frozen=True)
class BoxSnapshot:
    """The spots available in a box, consistent with event ``seq``: every change numbered up
    to ``seq`` is in it, none after. ``truncated`` when the box held more than the limit."""

    seq: int
    spots: list[str]
    truncated: bool


# Prepared (compiled once): every socket server reads these at each commit of a change.
_LAST_SEQ = PreparedQuery(
    lambda: AvailabilitySequence.objects.filter(pk=AvailabilitySequence.ONLY_ROW).values_list(
        "last"
    )
)
_EVENTS_AFTER = PreparedQuery(
    lambda limit: (
        AvailabilityEvent.objects.filter(seq__gt=Param("seq", BigIntegerField()))
        .order_by("seq")
        .values_list("seq", "spot_id", "kind", "created_at", "spot__lat", "spot__lng")[:limit]
    )
)


def current_seq() -> int:
    """The number of the last committed availability event (0 before any)."""
    rows = _LAST_SEQ.rows((), {})
    if rows:
        return rows[0][0]
    return AvailabilityEvent.objects.aggregate(last=Max("seq"))["last"] or 0


def availability_events_after(*, seq: int, limit: int) -> list[AvailabilityChange]:
    """The first ``limit`` committed events numbered after ``seq``, in order. What one read
    sees is gap-free: events commit in the order of their numbers."""
    rows = _EVENTS_AFTER.rows((limit,), {"seq": seq})
    return [
        AvailabilityChange(seq, spot_id, kind, _utc(written), float(lat), float(lng))
        for seq, spot_id, kind, written, lat, lng in rows
    ]


def _utc(written: datetime) -> datetime:
    """A time read on a plain cursor: SQLite gives the stored UTC time without its zone,
    PostgreSQL with it."""
    return written if written.tzinfo is not None else written.replace(tzinfo=UTC)


def events_kept_after(*, seq: int) -> bool:
    """Whether every event after ``seq`` is still held (pruning drops the oldest), so a client
    that saw up to ``seq`` can resume from there; if not, it needs a snapshot. A ``seq`` beyond
    the last event is not one this database gave out."""
    last = current_seq()
    if seq >= last:
        return seq == last
    first_kept = AvailabilityEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    return first_kept is not None and first_kept <= seq + 1


def available_spots_in_box(
    *,
    south: float,
    west: float,
    north: float,
    east: float,
    limit: int,
    now: datetime | None = None,
) -> BoxSnapshot:
    """Spots available now inside the box (the list routes' JSON, by id), at most ``limit``,
    with the event number they are consistent with: both read in one REPEATABLE READ
    transaction on PostgreSQL, one (write-locked) transaction on SQLite."""
    if south > north or west > east:
        raise ValueError("the box must have south <= north and west <= east")
    outermost = not connection.in_atomic_block  # else the caller's transaction decides
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        seq = current_seq()
        spots = (
            available_spots(start=now)
            .filter(
                lat_band__range=(lat_band_of(south), lat_band_of(north)),
                lat__range=(south, north),
                lng__range=(west, east),
            )
            .order_by("id")
        )
        rows = list(spot_json_rows(spots[: limit + 1]))
    return BoxSnapshot(seq=seq, spots=rows[:limit], truncated=len(rows) > limit)


def available_spots_json(*, spot_ids: list[int], now: datetime | None = None) -> dict[int, str]:
    """Of these spots, those available now, as the list routes' JSON, by id: what a client is
    sent for a spot freed or updated (one taken again since is left out)."""
    rows = spot_json_rows(available_spots(start=now).filter(pk__in=spot_ids).order_by("id"))
    return dict(rows.values_list("id", "spot_json"))
