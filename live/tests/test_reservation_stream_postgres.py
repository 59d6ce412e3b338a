"""The reservation stream as production runs it: a real socket server (uvicorn) and a real
WebSocket client, while a Celery worker and beat (separate processes, PostgreSQL, RabbitMQ,
Redis, localstripe) end and charge the driver's reservation. Events cross from the worker's
process to the socket server's through the database alone."""

import asyncio
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from websockets.asyncio.client import connect

from accounts.services import issue_token
from accounts.tests.factories import UserFactory
from live.tests.servers import socket_server
from reservations.models import Reservation
from reservations.tests.workers import (  # noqa: F401 (fixtures)
    DEADLINE_SECONDS,
    engine_fixture,
    fake_stripe_fixture,
    localstripe_url_fixture,
    reservation_with_card,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


async def receive(socket) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), DEADLINE_SECONDS))


def _end_time_arrives(reservation_id: int) -> None:
    try:
        Reservation.objects.filter(pk=reservation_id).update(end_time=timezone.now())
    finally:
        connection.close()  # the thread's own, which would keep the test database open


def test_the_owners_socket_hears_the_worker_end_then_charge_the_reservation(
    engine, fake_stripe, tmp_path
):
    driver, stranger = UserFactory(), UserFactory()
    token, strangers_token = issue_token(user=driver), issue_token(user=stranger)
    now = timezone.now()
    reservation = reservation_with_card(
        fake_stripe, start=now - timedelta(hours=1), end=now + timedelta(hours=1), user=driver
    )
    engine.start(beats=1)

    async def follow(url: str) -> tuple[dict, list[dict], dict]:
        async with connect(url) as socket, connect(url) as strangers:
            await socket.send(json.dumps({"type": "authenticate", "token": token}))
            start = await receive(socket)
            await strangers.send(json.dumps({"type": "authenticate", "token": strangers_token}))
            assert (await receive(strangers))["reservations"] == []
            # An hour passes: the engine's sweep ends it at its end time and charges it.
            await asyncio.to_thread(_end_time_arrives, reservation.pk)
            events = [await receive(socket), await receive(socket)]
            await strangers.send(json.dumps({"type": "ping"}))
            return start, events, await receive(strangers)

    with socket_server(tmp_path / "socket.log", path="/ws/reservations/") as url:
        start, events, strangers_next = asyncio.run(follow(url))

    assert [shown["id"] for shown in start["reservations"]] == [reservation.pk]
    assert [(event["event"], event["reservation"]["id"]) for event in events] == [
        ("ended", reservation.pk),
        ("charged", reservation.pk),
    ]
    charged = events[1]["reservation"]
    assert (charged["status"], charged["charge_status"]) == ("ended", "succeeded")
    # An hour and the seconds the test took, at $4.50 an hour.
    assert charged["amount_charged_cents"] == charged["amount_cents"] >= 450
    assert strangers_next == {"type": "pong"}
