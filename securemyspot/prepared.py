"""Querysets compiled to SQL once and run many times with new values.

Building and compiling a queryset costs the ORM a few milliseconds of Python; on the hottest
read routes that is more than the database needs to answer. A prepared query is written as an
ordinary queryset in which each value that changes between calls is a ``Param("name")``; it is
compiled on first use per database vendor, and each call binds the named values into the
compiled SQL's parameters and runs it on a plain cursor.

Anything that changes the *shape* of the SQL (the number of items of an ``IN``, a ``LIMIT``, an
optional filter) is an argument of the builder, and each distinct shape is compiled once.
"""

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Expression, Field, QuerySet

# Distinct shapes kept compiled; a search shape is (band count, limit, unit, window), far fewer.
COMPILED_SHAPES = 512


@dataclass(frozen=True)
class _Slot:
    """Where a named value goes among the compiled SQL's parameters."""

    name: str
    field: Field


class Param(Expression):
    """A value bound at each call by ``name``: compiles to one placeholder."""

    def __init__(self, name: str, output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection, **extra_context):
        return "%s", (_Slot(self.name, self.output_field),)

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


class PreparedQuery:
    """``build(*shape)`` returns the queryset for one shape, or its SQL and parameters when
    the ORM cannot write it; ``rows(shape, values)`` runs it."""

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self._build = build
        self._compiled = lru_cache(maxsize=COMPILED_SHAPES)(self._compile)

    def _compile(self, vendor: str, shape: tuple[Hashable, ...]) -> tuple[str, tuple]:
        built = self._build(*shape)
        sql, params = built if isinstance(built, tuple) else built.query.sql_with_params()
        return sql, tuple(params)

    def bound(self, shape: tuple[Hashable, ...], values: Mapping[str, Any]) -> tuple[str, list]:
        """The SQL of ``shape`` and its parameters with ``values`` bound, ready to execute."""
        sql, params = self._compiled(connection.vendor, shape)
        return sql, [
            param.field.get_db_prep_value(values[param.name], connection)
            if isinstance(param, _Slot)
            else param
            for param in params
        ]

    def rows(self, shape: tuple[Hashable, ...], values: Mapping[str, Any]) -> list[tuple]:
        sql, params = self.bound(shape, values)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
