"""SQL for spot search: the distance to each spot, and each spot rendered as JSON text.

The spot lists are the hottest routes (clients poll them every few seconds) and can be large,
so the database writes each row's JSON and Python only joins the rows. The JSON is built by
string concatenation: every value is a number, a boolean or a fixed-format string, so nothing
needs escaping, and PostgreSQL concatenates several times faster than it runs
``JSON_BUILD_OBJECT``. Each expression carries the PostgreSQL and the SQLite spelling; the
output is what DRF would render: coordinates and rates as fixed-point strings, times as
ISO 8601 UTC with ``Z``.
"""

import math
import re

from django.db.models import Expression, F, FloatField, Func, QuerySet, TextField, Value

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_UNIT = {"km": 1000.0, "mi": 1609.344}
JSON_KEY = re.compile(r"^[a-z_]+$")


class VendorFunc(Func):
    """A function spelled differently on PostgreSQL and SQLite (``templates`` by vendor)."""

    output_field = TextField()
    templates: dict[str, str] = {}

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template=self.templates[connection.vendor], **extra_context
        )


class JSONNumber(VendorFunc):
    """A floating-point number as JSON text, rounded to ``places`` decimal places if given.

    PostgreSQL rounds in floating point and prints the shortest text that reads back as the
    same double, which is the rounded decimal itself: a fifth of the cost of a round trip
    through ``numeric`` on the hottest search."""

    def __init__(self, expression: Expression | str, places: int | None = None) -> None:
        super().__init__(expression)
        if places is None:
            self.templates = {
                "postgresql": "(%(expressions)s)::text",
                "sqlite": "CAST(%(expressions)s AS TEXT)",
            }
        else:
            self.templates = {
                "postgresql": f"(ROUND((%(expressions)s) * 1e{places}) / 1e{places})::text",
                "sqlite": f"CAST(ROUND(%(expressions)s, {places}) AS TEXT)",
            }


class JSONFixedPoint(VendorFunc):
    """A decimal column as a JSON string with exactly ``places`` decimal places, e.g.
    ``"5.00"``. PostgreSQL's numeric text already has the column's scale; SQLite stores
    decimals as floats and needs formatting."""

    def __init__(self, expression: Expression | str, places: int) -> None:
        super().__init__(expression)
        self.templates = {
            "postgresql": "'\"' || (%(expressions)s)::text || '\"'",
            "sqlite": f"'\"' || PRINTF('%%.{places}f', %(expressions)s) || '\"'",
        }


class JSONTimestamp(VendorFunc):
    """A timestamp as a JSON string, ISO 8601 UTC with ``Z``: ``"2026-11-24T18:30:00.5Z"``."""

    templates = {
        "postgresql": "'\"' || REPLACE((%(expressions)s AT TIME ZONE 'UTC')::text, ' ', 'T') "
        "|| 'Z\"'",
        # Django stores SQLite timestamps as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        "sqlite": "'\"' || REPLACE(%(expressions)s, ' ', 'T') || 'Z\"'",
    }


class JSONObjectText(Func):
    """``{"key": value, ...}`` as text, keys in the order given. Each value is an expression
    giving JSON text (``JSONNumber``, ``JSONFixedPoint``, ...) or a JSON literal such as
    ``"true"`` written into the SQL."""

    output_field = TextField()

    def __init__(self, **fields: Expression | str) -> None:
        if not all(JSON_KEY.match(key) for key in fields):
            raise ValueError("JSON keys must be lower-case identifiers")
        self.fields = fields
        super().__init__(*(value for value in fields.values() if not isinstance(value, str)))

    def as_sql(self, compiler, connection, **extra_context):
        pieces, params, literal = [], [], "{"
        expressions = iter(self.get_source_expressions())
        for index, (key, value) in enumerate(self.fields.items()):
            literal += ("," if index else "") + f'"{key}":'
            if isinstance(value, str):
                literal += value
                continue
            sql, value_params = compiler.compile(next(expressions))
            pieces += [f"'{literal}'", f"({sql})"]
            params += value_params
            literal = ""
        pieces.append(f"'{literal}}}'")
        return " || ".join(pieces), params


class HaversineMetres(Func):
    """Great-circle distance in metres from a fixed origin to each row's (lat, lng). The origin
    comes as three values worked out once per search (``haversine_origin``), so the database
    does not redo that trigonometry for every row."""

    output_field = FloatField()

    def __init__(
        self,
        *,
        origin_lat_radians: Expression,
        cos_origin_lat: Expression,
        origin_lng_radians: Expression,
    ) -> None:
        super().__init__(F("lat"), F("lng"), origin_lat_radians, cos_origin_lat, origin_lng_radians)

    def as_sql(self, compiler, connection, **extra_context):
        sqls, params = zip(*(compiler.compile(e) for e in self.source_expressions), strict=True)
        lat, lng, origin_lat, cos_origin_lat, origin_lng = sqls
        p_lat, p_lng, p_origin_lat, p_cos_origin_lat, p_origin_lng = params
        sql = (
            f"({2 * EARTH_RADIUS_M} * ASIN(SQRT("
            f"POWER(SIN((RADIANS({lat}) - {origin_lat}) / 2), 2) + "
            f"COS(RADIANS({lat})) * {cos_origin_lat} * "
            f"POWER(SIN((RADIANS({lng}) - {origin_lng}) / 2), 2))))"
        )
        params = (*p_lat, *p_origin_lat, *p_lat, *p_cos_origin_lat, *p_lng, *p_origin_lng)
        return sql, params


def haversine_origin(lat: float, lng: float) -> dict[str, float]:
    """The values ``HaversineMetres`` takes for an origin, by the names the search binds."""
    return {
        "origin_lat_radians": math.radians(lat),
        "cos_origin_lat": math.cos(math.radians(lat)),
        "origin_lng_radians": math.radians(lng),
    }


def spot_json_rows(queryset: QuerySet, *, unit: str | None = None) -> QuerySet:
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
