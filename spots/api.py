from collections.abc import Iterator

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from spots.list_files import keep_while_streaming, list_file
from spots.params import MAX_SEARCH_LIMIT, MAX_SEARCH_RADIUS_M, UNIT_SPELLINGS, spot_search_from
from spots.selectors import (
    available_spots,
    available_spots_fingerprint,
    available_spots_near,
)
from spots.serializers import (
    AvailabilityWindowSerializer,
    NearbyParkingSpotSerializer,
    ParkingSpotSerializer,
)
from spots.sql import spot_json_rows

STREAM_CHUNK_ROWS = 2000


def _json_array(rows: Iterator[str]) -> Iterator[bytes]:
    """The rows as one JSON array, a chunk at a time so a large list never sits in memory."""
    yield b"["
    separator = b""
    chunk: list[str] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == STREAM_CHUNK_ROWS:
            yield separator + ",".join(chunk).encode()
            separator, chunk = b",", []
    if chunk:
        yield separator + ",".join(chunk).encode()
    yield b"]"


def _number_schema(minimum: float, maximum: float) -> dict:
    return {"type": "number", "minimum": minimum, "maximum": maximum}


class AvailableParkingSpotsView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="available_parking_spots",
        summary="Every spot free now",
        description=(
            "Active spots that no live reservation covers now (or during `start`-`end`), by "
            "id. Streamed. Sends a weak `ETag`; a request with a matching `If-None-Match` "
            "gets 304 with no body."
        ),
        parameters=[AvailabilityWindowSerializer],
        responses={
            200: ParkingSpotSerializer(many=True),
            400: OpenApiResponse(description='`{"<parameter>": ["message"]}`'),
            304: OpenApiResponse(description="Not modified since the ETag sent."),
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        params = AvailabilityWindowSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        window = params.validated_data
        fingerprint = available_spots_fingerprint(**window)
        etag = f'W/"spots-{fingerprint}"'
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is not None:
            return not_modified
        path = list_file(f"{fingerprint}|{sorted(window.items())}")
        if path.exists():
            response = FileResponse(path.open("rb"), content_type="application/json")
        else:
            rows = spot_json_rows(available_spots(**window).order_by("id"))
            chunks = _json_array(rows.iterator(chunk_size=STREAM_CHUNK_ROWS))
            response = StreamingHttpResponse(
                keep_while_streaming(chunks, path), content_type="application/json"
            )
        response["ETag"] = etag
        return response


class AvailableParkingSpotsNearView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="available_parking_spots_filter",
        summary="Spots free now within a distance, nearest first",
        description=(
            "Each spot carries `distance` from the point in the requested unit. A missing or "
            "invalid parameter is a 400 naming it. Sends an `ETag`; a request with a matching "
            "`If-None-Match` gets 304."
        ),
        parameters=[
            OpenApiParameter(
                "lat", _number_schema(-90, 90), required=True, description="Latitude, degrees."
            ),
            OpenApiParameter(
                "lng",
                _number_schema(-180, 180),
                description="Longitude, degrees. Required, as `lng` or `long`.",
            ),
            OpenApiParameter("long", _number_schema(-180, 180), description="Alias of `lng`."),
            OpenApiParameter(
                "unit",
                str,
                required=True,
                enum=sorted(UNIT_SPELLINGS),
                description="`km` or `mi` (`mil`, `mile`, `miles` accepted, any case).",
            ),
            OpenApiParameter(
                "dist",
                {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                required=True,
                description=f"Search radius in `unit`, greater than 0, at most "
                f"{MAX_SEARCH_RADIUS_M / 1000:g} km.",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_LIMIT},
                description=f"Return at most this many spots (1 to {MAX_SEARCH_LIMIT}), the "
                "nearest. Default: all within `dist`.",
            ),
            AvailabilityWindowSerializer,
        ],
        responses={
            200: NearbyParkingSpotSerializer(many=True),
            304: OpenApiResponse(description="Not modified since the ETag sent."),
            400: OpenApiResponse(description='`{"<parameter>": ["message"]}`'),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        search = spot_search_from(request.GET)
        spots = available_spots_near(
            lat=search.lat,
            lng=search.lng,
            radius_m=search.radius_m,
            unit=search.unit,
            limit=search.limit,
            start=search.start,
            end=search.end,
        )
        body = b"".join(_json_array(iter(spots)))
        # ConditionalGetMiddleware hashes the body into the ETag and answers If-None-Match.
        return HttpResponse(body, content_type="application/json")
