"""Probes for whoever runs the service: /healthz (alive: the process answers and reaches its
database) and /readyz (ready for traffic: database, broker and Redis when configured)."""

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from kombu.exceptions import OperationalError as BrokerError
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from securemyspot.celery import app as celery_app

OK = "ok"
UNAVAILABLE = "unavailable"
NOT_CONFIGURED = "not configured"
# A probe answers within a few seconds even when a server is unreachable, not after the
# clients' own long retry schedules.
PROBE_TIMEOUT_S = 1.0


@extend_schema(
    summary="Health check",
    description="200 when the service can reach its database, 503 otherwise.",
    responses={
        200: inline_serializer("Health", {"status": serializers.CharField()}),
        503: inline_serializer("Unhealthy", {"status": serializers.CharField()}),
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def healthz(request: Request) -> Response:
    if not _database_answers():
        return Response({"status": "database unavailable"}, status=503)
    return Response({"status": "ok"})


@extend_schema(
    summary="Readiness check",
    description=(
        "200 when the database, the Celery broker and Redis (when configured) all answer; "
        'otherwise 503, with "unavailable" beside each that does not.'
    ),
    responses={
        (code, "application/json"): inline_serializer(
            name,
            {
                "database": serializers.CharField(),
                "broker": serializers.CharField(),
                "redis": serializers.CharField(help_text='"ok", "unavailable" or "not configured"'),
            },
        )
        for code, name in ((200, "Ready"), (503, "NotReady"))
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def readyz(request: Request) -> Response:
    states = {
        "database": _state(_database_answers),
        "broker": _state(_broker_answers),
        "redis": _state(_redis_answers) if settings.REDIS_URL else NOT_CONFIGURED,
    }
    ready = UNAVAILABLE not in states.values()
    return Response(states, status=200 if ready else 503)


def _state(answers: Callable[[], bool]) -> str:
    return OK if answers() else UNAVAILABLE


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def _broker_answers() -> bool:
    try:
        with celery_app.connection_for_read(connect_timeout=PROBE_TIMEOUT_S) as broker:
            broker.ensure_connection(max_retries=0, timeout=PROBE_TIMEOUT_S)
    except (BrokerError, OSError):
        return False
    return True


def _redis_answers() -> bool:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=PROBE_TIMEOUT_S,
        socket_timeout=PROBE_TIMEOUT_S,
    )
    try:
        client.ping()
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
    return True
