"""HTTP plumbing shared by every app: routes, request envelopes and JSON errors."""

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.urls import URLPattern, re_path
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from securemyspot.errors import DomainError, RetryLater

# A guest's email as a path segment. No email holds a NUL byte (PostgreSQL refuses one in a
# query: a 500) or exceeds 254 characters, so such a path is simply not found.
EMAIL_SEGMENT = r"(?P<email>[^/\x00]{1,254})"


def route(pattern: str, view: Callable, name: str) -> URLPattern:
    """A route answering with and without its trailing slash, directly (no redirect).

    The browser client calls some routes without the slash; a redirect would break CORS
    preflights and non-GET methods, so both spellings resolve to the view.
    """
    return re_path(rf"^{pattern}/?$", view, name=name)


def client_address(request: Request) -> str | None:
    """The client's IP address as the throttles see it (``NUM_PROXIES`` trusted proxies'
    X-Forwarded-For, else REMOTE_ADDR); None if that is not an address."""
    try:
        return str(ipaddress.ip_address(BaseThrottle().get_ident(request).strip()))
    except ValueError:
        return None


def unwrap(data: Any, envelope: str) -> Mapping[str, Any]:
    """The object inside a request body's envelope, e.g. ``{"credentials": {...}}``."""
    if not isinstance(data, Mapping) or envelope not in data:
        raise exceptions.ValidationError({envelope: ["This field is required."]})
    inner = data[envelope]
    if not isinstance(inner, Mapping):
        raise exceptions.ValidationError({envelope: ["Expected an object."]})
    return inner


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's, answering the usual case at once: a client that accepts anything (no Accept
    header, or ``*/*``, as fetch and most HTTP libraries send) and asks for no format gets the
    first renderer, as DRF's would choose, without parsing the header on every request."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        accepts_anything = request.META.get("HTTP_ACCEPT", "*/*") == "*/*"
        asks_for_a_format = format_suffix or self.settings.URL_FORMAT_OVERRIDE in request.GET
        if accepts_anything and not asks_for_a_format:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.status_code)
    if isinstance(exc, RetryLater):
        return Response(
            {"detail": exc.message, "retry_after_seconds": exc.retry_after_seconds},
            status=exc.status_code,
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    return drf_exception_handler(exc, context)


def bad_request(request, exception=None) -> JsonResponse:
    """Django's own refusals before a view runs (a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a
    Host not in ``ALLOWED_HOSTS``, other SuspiciousOperations), as JSON naming the problem."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse({"detail": f"Request body too large (max {limit} bytes)"}, status=413)
    if isinstance(exception, DisallowedHost):
        return JsonResponse({"detail": "Host not allowed"}, status=400)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception=None) -> JsonResponse:
    return JsonResponse({"detail": "Forbidden."}, status=403)


def not_found(request, exception=None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request) -> JsonResponse:
    return JsonResponse({"detail": "Server error."}, status=500)
