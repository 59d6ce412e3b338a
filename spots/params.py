"""The query parameters of the radius search, read and checked in plain Python.

Clients poll the search every few seconds, and a DRF serializer costs more Python than the
search itself costs the database (see docs/geo-search.md), so this route reads its parameters
here. Errors have the shape of a serializer's: ``{"<parameter>": ["message"]}``, every bad
parameter at once.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rest_framework.exceptions import ValidationError

from spots.serializers import AvailabilityWindowSerializer
from spots.sql import METRES_PER_UNIT

UNIT_SPELLINGS = {"km": "km", "mi": "mi", "mil": "mi", "mile": "mi", "miles": "mi"}
MAX_SEARCH_RADIUS_M = 50_000.0  # wider than New York City from end to end
MAX_SEARCH_LIMIT = 1000

REQUIRED = "This field is required."


@dataclass(frozen=True)
class SpotSearch:
    lat: float
    lng: float
    unit: str
    radius_m: float
    limit: int | None = None
    start: datetime | None = None
    end: datetime | None = None


def spot_search_from(query: Mapping[str, str]) -> SpotSearch:
    """The search the query asks for; ``ValidationError`` naming each bad parameter.
    ``long`` is accepted for ``lng``, as the original client sends it."""
    errors: dict[str, list[str]] = {}
    lat = _number(query, "lat", errors, minimum=-90, maximum=90)
    lng = _number(query, "lng", errors, minimum=-180, maximum=180, alias="long")
    dist = _number(query, "dist", errors, above=0)
    unit = _unit(query, errors)
    limit = _limit(query, errors)
    window = _window(query, errors)
    radius_m = dist * METRES_PER_UNIT[unit] if dist is not None and unit is not None else None
    if radius_m is not None and radius_m > MAX_SEARCH_RADIUS_M:
        maximum = MAX_SEARCH_RADIUS_M / METRES_PER_UNIT[unit]
        errors["dist"] = [f"Must be at most {maximum:g} {unit}."]
    if errors:
        raise ValidationError(errors)
    return SpotSearch(lat=lat, lng=lng, unit=unit, radius_m=radius_m, limit=limit, **window)


def _number(
    query: Mapping[str, str],
    name: str,
    errors: dict[str, list[str]],
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    alias: str | None = None,
) -> float | None:
    raw = query.get(name, query.get(alias) if alias else None)
    if raw is None:
        errors[name] = [REQUIRED]
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors[name] = ["A valid number is required."]
    elif minimum is not None and value < minimum:
        errors[name] = [f"Ensure this value is greater than or equal to {minimum}."]
    elif maximum is not None and value > maximum:
        errors[name] = [f"Ensure this value is less than or equal to {maximum}."]
    elif above is not None and value <= above:
        errors[name] = [f"Must be greater than {above}."]
    else:
        return value
    return None


def _unit(query: Mapping[str, str], errors: dict[str, list[str]]) -> str | None:
    raw = query.get("unit")
    if raw is None:
        errors["unit"] = [REQUIRED]
        return None
    unit = UNIT_SPELLINGS.get(raw.strip().lower())
    if unit is None:
        errors["unit"] = ['Must be "km" or "mi".']
    return unit


def _limit(query: Mapping[str, str], errors: dict[str, list[str]]) -> int | None:
    raw = query.get("limit")
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError:
        errors["limit"] = ["A valid integer is required."]
        return None
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        errors["limit"] = [f"Must be from 1 to {MAX_SEARCH_LIMIT}."]
        return None
    return limit


def _window(query: Mapping[str, str], errors: dict[str, list[str]]) -> dict[str, datetime]:
    """Optional ``start`` and ``end``, checked as the full list checks them."""
    if "start" not in query and "end" not in query:
        return {}
    window = AvailabilityWindowSerializer(
        data={key: query[key] for key in ("start", "end") if key in query}
    )
    if window.is_valid():
        return dict(window.validated_data)
    errors.update(window.errors)
    return {}
