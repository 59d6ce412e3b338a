"""`make run`'s front door: one port for the API (gunicorn) and the live sockets (uvicorn).

Each connection goes, whole, to one of two servers, chosen by the path of its first request:
``/ws/`` to the socket server, the rest to the API. Bytes are copied unchanged both ways. A
browser opens a connection of its own for each WebSocket, so the first request decides. Not
for production, where the load balancer routes ``/ws/`` (docs/live.md).

    python -m securemyspot.path_router --listen 127.0.0.1:8000 \
        --http 127.0.0.1:8001 --websocket 127.0.0.1:8002
"""

import argparse
import asyncio
import contextlib
import signal

import uvloop

WEBSOCKET_PREFIX = b"/ws/"
# A request line longer than this, or slower than this to arrive, is not worth routing.
MAX_REQUEST_LINE = 8192
REQUEST_LINE_SECONDS = 30
CHUNK = 65536


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def route(request_line: bytes) -> str:
    """``websocket`` for a request to a path under /ws/, else ``http``."""
    parts = request_line.split(b" ")
    is_socket = len(parts) >= 2 and parts[1].startswith(WEBSOCKET_PREFIX)
    return "websocket" if is_socket else "http"


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


class PathRouter:
    def __init__(self, targets: dict[str, tuple[str, int]]) -> None:
        self.targets = targets

    async def serve(self, client_reader, client_writer) -> None:
        try:
            async with asyncio.timeout(REQUEST_LINE_SECONDS):
                request_line = await client_reader.readuntil(b"\n")
            if len(request_line) > MAX_REQUEST_LINE:
                raise ValueError(request_line[:40])
            host, port = self.targets[route(request_line)]
            server_reader, server_writer = await asyncio.open_connection(host, port)
        except (
            TimeoutError,
            ValueError,
            OSError,
            asyncio.LimitOverrunError,
            asyncio.IncompleteReadError,
        ):
            client_writer.close()
            return
        server_writer.write(request_line)
        upstream = asyncio.create_task(_copy(client_reader, server_writer))
        # The server closes first (gunicorn after each response, uvicorn when the socket
        # closes); a client that half-closed still gets the whole answer.
        await _copy(server_reader, client_writer)
        upstream.cancel()
        for writer in (server_writer, client_writer):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def main(listen: tuple[str, int], targets: dict[str, tuple[str, int]]) -> None:
    """Routes until SIGINT or SIGTERM (Ctrl-C under honcho)."""
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    router = PathRouter(targets)
    server = await asyncio.start_server(router.serve, *listen, limit=MAX_REQUEST_LINE)
    print(
        f"Routing {listen[0]}:{listen[1]}: /ws/ to {targets['websocket']}, the rest to "
        f"{targets['http']}",
        flush=True,
    )
    await stop.wait()
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=address, required=True)
    parser.add_argument("--http", type=address, required=True)
    parser.add_argument("--websocket", type=address, required=True)
    arguments = parser.parse_args()
    targets = {"http": arguments.http, "websocket": arguments.websocket}
    # uvloop (it comes with uvicorn[standard]) copies bytes faster than asyncio's own loop.
    uvloop.run(main(arguments.listen, targets))
