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

from django.db.models import Expression, F, FloatField, Func, TextField

EARTH_RADIUS_M = 6_371_008.8
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
    """A number as JSON text, rounded to ``places`` decimal places if given."""

    def __init__(self, expression: Expression | str, places: int | None = None) -> None:
        super().__init__(expression)
        if places is None:
            self.templates = {
                "postgresql": "(%(expressions)s)::text",
                "sqlite": "CAST(%(expressions)s AS TEXT)",
            }
        else:
            self.templates = {
                "postgresql": f"ROUND((%(expressions)s)::numeric, {places})::text",
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
    """Great-circle distance in metres from a fixed point to each row's (lat, lng): one SQL
    expression with three parameters, so building a search costs the ORM little."""

    output_field = FloatField()

    def __init__(self, *, lat: float, lng: float) -> None:
        super().__init__(F("lat"), F("lng"))
        self.origin = (math.radians(lat), math.cos(math.radians(lat)), math.radians(lng))

    def as_sql(self, compiler, connection, **extra_context):
        lat_sql, lat_params = compiler.compile(self.source_expressions[0])
        lng_sql, lng_params = compiler.compile(self.source_expressions[1])
        origin_lat, cos_origin_lat, origin_lng = self.origin
        sql = (
            f"({2 * EARTH_RADIUS_M} * ASIN(SQRT("
            f"POWER(SIN((RADIANS({lat_sql}) - %s) / 2), 2) + "
            f"COS(RADIANS({lat_sql})) * %s * POWER(SIN((RADIANS({lng_sql}) - %s) / 2), 2))))"
        )
        params = (
            *lat_params,
            origin_lat,
            *lat_params,
            cos_origin_lat,
            *lng_params,
            origin_lng,
        )
        return sql, params
