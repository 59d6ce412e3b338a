"""A real socket server (uvicorn, as `make run` and the Procfile start it) and a real
WebSocket client (``websockets``), against the test's PostgreSQL database and Redis."""

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from websockets.asyncio.client import connect

from live.tests.conftest import MIDTOWN, record_event
from live.tests.servers import asgi_server

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 10.0


@contextmanager
def socket_server(log: Path, path: str = "/ws/availability/") -> Iterator[str]:
    """The URL of the socket at ``path`` on a server of the test's own."""
    with asgi_server(log) as port:
        yield f"ws://127.0.0.1:{port}{path}"


async def receive(socket) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), DEADLINE))


async def subscribe(socket, since: int | None = None) -> dict:
    await socket.send(json.dumps({"type": "subscribe", "bbox": MIDTOWN, "since": since}))
    return await receive(socket)


def _record_in_thread(spot, kind: str) -> int:
    try:
        return record_event(spot, kind)
    finally:
        connection.close()  # the thread's own, which would keep the test database open


def record(spot, kind: str) -> asyncio.Future:
    """``record_event`` while the client keeps reading."""
    return asyncio.get_running_loop().run_in_executor(None, _record_in_thread, spot, kind)


def test_a_client_sees_a_spot_taken_and_resumes_after_a_restart_without_gaps(inside, tmp_path):
    async def first_server(url: str) -> int:
        async with connect(url) as socket:
            snapshot = await subscribe(socket)
            assert snapshot["type"] == "snapshot"
            assert [spot["id"] for spot in snapshot["spots"]] == [inside.id]
            seq = await record(inside, "taken")
            changes = await receive(socket)
            assert changes["from_seq"] == snapshot["seq"]
            assert changes["seq"] == seq
            assert changes["taken"] == [inside.id]
            return changes["seq"]

    async def second_server(url: str, since: int) -> None:
        async with connect(url) as socket:
            changes = await subscribe(socket, since=since)
            assert changes["type"] == "changes"
            assert changes["from_seq"] == since
            assert changes["seq"] == since + 1
            assert [spot["id"] for spot in changes["freed"]] == [inside.id]

    with socket_server(tmp_path / "first.log") as url:
        seen = asyncio.run(first_server(url))
    # Freed while no socket server runs: the event waits in the database.
    record_event(inside, "freed")
    with socket_server(tmp_path / "second.log") as url:
        asyncio.run(second_server(url, seen))


def test_two_socket_servers_both_deliver_one_change(inside, tmp_path):
    async def both(urls: list[str]) -> list[dict]:
        async with connect(urls[0]) as first, connect(urls[1]) as second:
            for socket in (first, second):
                assert (await subscribe(socket))["type"] == "snapshot"
            await record(inside, "taken")
            return [await receive(first), await receive(second)]

    with socket_server(tmp_path / "a.log") as a, socket_server(tmp_path / "b.log") as b:
        first, second = asyncio.run(both([a, b]))
    assert first["taken"] == second["taken"] == [inside.id]
