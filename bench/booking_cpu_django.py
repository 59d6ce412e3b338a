"""The booking CPU benchmark's part that runs inside Django, in a ``DjangoProcess`` child: guest
bookings through the whole Django stack (WSGI handler, middleware, DRF, service, ORM, psycopg),
called in a loop in this process, with no HTTP server and no client in the way, so that the CPU
time this process uses is the Python side of a booking and nothing else.
"""

import cProfile
import io
import json
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence

from django.core.wsgi import get_wsgi_application
from django.db import connection

from bench.processes import cpu_seconds
from bench.project import PROJECT_DIR

Function = tuple[str, int, str]  # pstats' key: file, line, name

# Where a booking's CPU goes, by the code that spends it (its own time, not its callees'; time
# in a built-in or the standard library counts for the code that called it). First match wins.
LAYERS = (
    ("SQL driver (psycopg)", ("/psycopg/", "/psycopg_binary/")),
    ("ORM (queries, models, transactions)", ("/django/db/",)),
    ("DRF (dispatch, auth, parsing, rendering)", ("/rest_framework/",)),
    ("Django (handler, middleware, URLs, HTTP)", ("/django/", "/corsheaders/", "/whitenoise/")),
)
PROJECT = "project (views, serializers, service)"
OTHER = "other libraries"
MAX_CALLER_DEPTH = 5

# The request's stages, as the cumulative time of the function that is each: (label, file
# ending, function name). The stages nest; the report prints them as a tree.
STAGES = (
    ("whole request (WSGI handler)", "django/core/handlers/wsgi.py", "__call__"),
    ("  DRF dispatch", "rest_framework/views.py", "dispatch"),
    ("    initial: auth, permissions, throttles", "rest_framework/views.py", "initial"),
    ("    view: body parsing and validation", "reservations/api.py", "_reservation_body"),
    ("    view: service (reserve_spot)", "reservations/services.py", "reserve_spot"),
    ("    view: reservation JSON", "reservations/api.py", "_rendered"),
    ("    finalize_response (renderer, headers)", "rest_framework/views.py", "finalize_response"),
    ("  response rendering (JSON bytes)", "rest_framework/response.py", "rendered_content"),
    ("  connection health check (SELECT 1)", "django/db/backends/postgresql/base.py", "is_usable"),
)


def booking_cpu(spot_ids: Sequence[int], warmup: int) -> dict[str, object]:
    """Book each spot as a guest; the first ``warmup`` unmeasured, half the rest timed in CPU
    time, the other half under cProfile. Returns the CPU ms per booking (of this process, and
    of the PostgreSQL backend serving it: PostgreSQL runs on this machine), the Python function
    calls per booking (a count: unlike time, the same on a busy machine as on a quiet one), and
    the profiled share of each layer and stage."""
    application = get_wsgi_application()
    spots = iter(spot_ids)
    for spot_id in _take(spots, warmup):
        _book(application, spot_id)
    measured = (len(spot_ids) - warmup) // 2
    # The PostgreSQL backend serving this process's connection (persistent: CONN_MAX_AGE).
    backend = _backend_pid()
    started, backend_started = time.process_time(), cpu_seconds(backend)
    for spot_id in _take(spots, measured):
        _book(application, spot_id)
    cpu_ms = (time.process_time() - started) * 1000 / measured
    if _backend_pid() != backend:
        raise RuntimeError("the database connection was not kept between bookings")
    backend_ms = (cpu_seconds(backend) - backend_started) * 1000 / measured
    # CPU time, not the wall clock, which counts the waits on PostgreSQL's answers too.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for spot_id in spots:
        _book(application, spot_id)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    calls = sum(primitive for primitive, _, _, _, _ in stats.values())
    return {
        "bookings": measured,
        "cpu_ms": cpu_ms,
        "postgres_ms": backend_ms,
        "calls": calls / (len(spot_ids) - warmup - measured),
        **_breakdown(stats),
    }


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _take(spots: Iterator[int], count: int) -> list[int]:
    return [next(spots) for _ in range(count)]


def _book(application, spot_id: int) -> None:
    body = json.dumps(
        {"reservation": {"email": f"cpu-{spot_id}@bench.test", "reservation_length": 30}}
    ).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/reservation-unauth/{spot_id}/",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
    }
    answer: list[str] = []
    response = application(environ, lambda status, headers, exc_info=None: answer.append(status))
    b"".join(response)
    response.close()
    if not answer[0].startswith("201"):
        raise RuntimeError(f"booking spot {spot_id}: {answer[0]}")


def _breakdown(stats: dict[Function, tuple]) -> dict[str, dict[str, float]]:
    total = sum(own for _, _, own, _, _ in stats.values())
    layers: dict[str, float] = defaultdict(float)
    for function, (_, _, own, _, callers) in stats.items():
        layers[_layer_of(function, callers, stats)] += own
    stages = {}
    for label, file_ending, name in STAGES:
        stages[label] = sum(
            cumulative
            for (file, _, function), (_, _, _, cumulative, _) in stats.items()
            if file.endswith(file_ending) and function == name
        )
    whole = stages[STAGES[0][0]]
    return {
        "layers": {label: own / total for label, own in layers.items()},
        "stages": {label: spent / whole for label, spent in stages.items()},
    }


def _layer_of(function: Function, callers: dict, stats: dict, depth: int = 0) -> str:
    file = function[0]
    if "site-packages" not in file and file.startswith(str(PROJECT_DIR)):
        return PROJECT
    for label, fragments in LAYERS:
        if any(fragment in file for fragment in fragments):
            return label
    if not _is_builtin_or_stdlib(file) or not callers or depth > MAX_CALLER_DEPTH:
        return OTHER
    caller = max(callers, key=lambda known: callers[known][0])
    return _layer_of(caller, stats.get(caller, (0, 0, 0, 0, {}))[4], stats, depth + 1)


def _is_builtin_or_stdlib(file: str) -> bool:
    return file == "~" or ("site-packages" not in file and not file.startswith(str(PROJECT_DIR)))
