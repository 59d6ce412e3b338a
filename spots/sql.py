"""SQL expressions that render a spot as JSON text inside the database.

The spot lists are the hottest routes (clients poll them every few seconds) and can be large,
so the database writes each row's JSON and Python only joins the rows. PostgreSQL and SQLite
spell JSON differently; each expression carries both spellings, and the output matches what
DRF would render: coordinates and rates as fixed-point strings, times as ISO 8601 UTC with Z.
"""

from django.db.models import Expression, FloatField, Func, TextField, Value


class FixedPointText(Func):
    """A decimal column as text with exactly ``places`` decimal places, e.g. ``"5.00"``."""

    output_field = TextField()

    def __init__(self, expression: Expression | str, places: int) -> None:
        self.places = places
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=f"ROUND((%(expressions)s)::numeric, {self.places})::text",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=f"PRINTF('%%.{self.places}f', %(expressions)s)",
            **extra_context,
        )


class UTCTimestampText(Func):
    """A timestamp as ISO 8601 UTC with a ``Z``, e.g. ``"2026-11-24T18:30:00.000000Z"``."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=(
                "TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            ),
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores SQLite timestamps as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        return self.as_sql(
            compiler,
            connection,
            template="REPLACE(%(expressions)s, ' ', 'T') || 'Z'",
            **extra_context,
        )


class RoundedNumber(Func):
    """A number rounded to ``places`` decimal places, rendered as a JSON number."""

    output_field = FloatField()

    def __init__(self, expression: Expression | str, places: int) -> None:
        self.places = places
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=f"ROUND((%(expressions)s)::numeric, {self.places})",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=f"ROUND(%(expressions)s, {self.places})",
            **extra_context,
        )


class JSONBool(Func):
    """A boolean as a JSON ``true``/``false`` (SQLite has no boolean type and would give 1/0)."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="JSON(CASE WHEN %(expressions)s THEN 'true' ELSE 'false' END)",
            **extra_context,
        )


class JSONRowText(Func):
    """``{"key": value, ...}`` as JSON text, keys in the order given."""

    output_field = TextField()
    arg_joiner = ", "

    def __init__(self, **fields: Expression) -> None:
        expressions = []
        for key, value in fields.items():
            expressions.extend((Value(key), value))
        super().__init__(*expressions)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="JSON_BUILD_OBJECT(%(expressions)s)::text",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="JSON_OBJECT(%(expressions)s)", **extra_context
        )
