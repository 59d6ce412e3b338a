"""`make run`'s one port: each connection reaches the server its first request's path names."""

import asyncio

from securemyspot.path_router import PathRouter

DEADLINE = 5.0


async def _named_server(name: bytes) -> tuple[asyncio.Server, tuple[str, int]]:
    """Answers each connection with its name and the request it read, then closes."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        writer.write(name + b" " + request)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[:2]


async def _through_router(request: bytes) -> bytes:
    api, api_address = await _named_server(b"api")
    sockets, sockets_address = await _named_server(b"sockets")
    router = PathRouter({"http": api_address, "websocket": sockets_address})
    front = await asyncio.start_server(router.serve, "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection(*front.sockets[0].getsockname()[:2])
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), DEADLINE)
        writer.close()
        return answer
    finally:
        for server in (front, api, sockets):
            server.close()


def test_a_request_under_ws_reaches_the_socket_server_unchanged():
    request = b"GET /ws/availability/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"
    assert asyncio.run(_through_router(request)) == b"sockets " + request


def test_any_other_request_reaches_the_api():
    request = b"GET /available-parking-spots/ HTTP/1.1\r\nHost: x\r\n\r\n"
    assert asyncio.run(_through_router(request)) == b"api " + request
