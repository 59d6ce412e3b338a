"""Prometheus metrics at ``/metrics``, for a scraper holding ``METRICS_TOKEN`` only.

Two kinds (docs/operations.md lists them):
- request counts and durations, counted by each web process as it serves. Gunicorn runs
  several processes, so they are kept in ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py makes
  one) and summed at scrape time;
- business and engine figures (bookings, expired holds, charges, the outbox), read from the
  database at scrape time by each app's collector named in ``METRICS_COLLECTORS``: right
  whichever process answers, and nothing to keep in step.
"""

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from securemyspot.api import not_found

HTTP_REQUESTS = Counter(
    "securemyspot_http_requests",
    "HTTP requests served, by method, route name and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "securemyspot_http_request_duration_seconds",
    "Time to answer an HTTP request, in the Django application.",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_UNMATCHED_ROUTE = "unmatched"


class RequestMetricsMiddleware:
    """Counts each request under its route's name (``reservation-guest``), never its path:
    bounded label values, and no email in a metric."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = match.view_name if match is not None else _UNMATCHED_ROUTE
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        HTTP_REQUEST_SECONDS.labels(request.method).observe(time.perf_counter() - started)
        return response


def count_by_status(rows: QuerySet) -> dict[str, int]:
    """How many of ``rows`` are in each status, in one grouped query."""
    return dict(rows.order_by().values_list("status").annotate(Count("pk")))


def status_gauge(
    name: str, documentation: str, *, statuses: list[str], counts: dict[str, int]
) -> GaugeMetricFamily:
    """A gauge per status, every status present (0 included) so that a graph has no gaps."""
    gauge = GaugeMetricFamily(name, documentation, labels=["status"])
    for status in statuses:
        gauge.add_metric([status], counts.get(status, 0))
    return gauge


def _process_metrics() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


def _database_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    for path in settings.METRICS_COLLECTORS:
        registry.register(import_string(path)())
    return generate_latest(registry)


def _holds_metrics_token(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return not_found(request)
    if not _holds_metrics_token(request):
        response = JsonResponse({"detail": "A metrics token is required."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = _process_metrics() + _database_metrics()
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
