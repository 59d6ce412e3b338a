"""The maps of the live benchmark: many WebSockets on /ws/availability/ per process, each
watching one box, keeping its view as a map does (the snapshot, each change applied) and
noting when each message arrived.

A ``MapFleet`` is one client process, driven from the bench process over a pipe: it opens its
sockets, counts what arrives, then answers for its views, its latencies and a reconnect storm.
Several fleets run at once so that the clients' own CPU time is spread over processes.
"""

import asyncio
import bisect
import gc
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import uvloop
from picows import WSCloseCode, WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

Box = tuple[float, float, float, float]  # south, west, north, east
PlacedSpot = tuple[int, float, float]  # id, lat, lng
Stamp = tuple[int, float]  # an event's seq, and when it was made (Unix time)

# Handshakes in flight at once per fleet: the server's listen backlog stays well under its size.
OPENING_AT_ONCE = 250
ANSWER_TIMEOUT_S = 60.0
MAX_FRAME_BYTES = 64 * 1024 * 1024  # a snapshot of a dense box is a few hundred KB
# The longest a client process waits for its next command (the whole run, at most) or the
# bench for an answer.
COMMAND_TIMEOUT_S = 3600.0


@dataclass
class MapSocket:
    """One map: its box, the seq it has seen through, the spots it shows, and each changes
    message as (arrival, from_seq, seq, ids taken, ids freed or updated) while
    ``recording``. What arrives while recording is noted (when, its text) and parsed once the
    recording ends: the 1,250 maps of a client process share one event loop, where parsing
    one map's message would delay noting when the next map's arrived, a delay a driver's own
    device, reading one map, does not have."""

    box: Box
    connection: WSTransport | None = None
    seq: int | None = None
    shown: set[int] = field(default_factory=set)
    received: list[tuple[float, int, int, list[int], list[int]]] = field(default_factory=list)
    # While recording: each message as it arrived (when, its text), read once recording ends.
    unread: list[tuple[float, str]] = field(default_factory=list)
    gaps: int = 0  # a message not starting where the one before ended
    repeated: int = 0  # events received again (a range overlapping one already received)
    duplicate_ids: int = 0  # an id twice in one snapshot
    resumed: str = ""  # how its last subscribe with ``since`` was answered
    answered_at: float = 0.0  # time.monotonic() of the answer to its last subscribe

    def take_snapshot(self, message: dict) -> None:
        ids = [spot["id"] for spot in message["spots"]]
        self.duplicate_ids += len(ids) - len(set(ids))
        self.shown, self.seq = set(ids), message["seq"]

    def take_changes(self, message: dict, arrived: float, recording: bool) -> None:
        if message["from_seq"] != self.seq:
            self.gaps += 1
            if self.seq is not None and message["from_seq"] < self.seq:
                self.repeated += self.seq - message["from_seq"]
        freed = [spot["id"] for spot in message["freed"]]
        self.shown.difference_update(message["taken"])
        self.shown.update(freed)
        self.seq = message["seq"]
        if recording:
            shown = [*freed, *(spot["id"] for spot in message["updated"])]
            self.received.append(
                (arrived, message["from_seq"], message["seq"], message["taken"], shown)
            )


class MapListener(WSListener):
    """One map's socket (picows: frames handed to a callback as they are read, parsed in C;
    the server's pings answered by picows). The first message answers ``answer``."""

    def __init__(self, fleet: "MapFleet", map_socket: MapSocket, answer: asyncio.Future) -> None:
        self.fleet, self.map_socket, self.answer = fleet, map_socket, answer
        self.parts: list[bytes] = []  # a message in several frames, until its last

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type in (WSMsgType.TEXT, WSMsgType.CONTINUATION):
            arrived = time.time()
            self.parts.append(frame.get_payload_as_bytes())
            if not frame.fin:
                return
            text, self.parts = b"".join(self.parts).decode(), []
            if self.fleet.recording and self.answer.done():
                self.map_socket.unread.append((arrived, text))
                self.fleet.counter.value += 1
                return
            kind = self.fleet.take_message(self.map_socket, text, arrived)
            if not self.answer.done():
                self.answer.set_result(kind)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.answer.done():
            self.answer.set_result("closed")


class MapFleet:
    """The sockets of one client process and what it is asked to do with them."""

    def __init__(self, url: str, boxes: Sequence[Box], counter: Any) -> None:
        self.url = url
        self.maps = [MapSocket(box=tuple(box)) for box in boxes]
        self.counter = counter  # changes messages received, shared with the bench process
        self.recording = False
        self.opening = asyncio.Semaphore(OPENING_AT_ONCE)

    async def subscribe(self, map_socket: MapSocket, since: int | None) -> str:
        """Connects and subscribes; returns once the answer is in: "snapshot", "changes"
        (resumed from ``since``), or the error it met."""
        async with self.opening:
            answer: asyncio.Future = asyncio.get_running_loop().create_future()
            try:
                map_socket.connection, _ = await ws_connect(
                    lambda: MapListener(self, map_socket, answer),
                    self.url,
                    websocket_handshake_timeout=ANSWER_TIMEOUT_S,
                    max_frame_size=MAX_FRAME_BYTES,
                )
                subscribe = {"type": "subscribe", "bbox": list(map_socket.box), "since": since}
                map_socket.connection.send(WSMsgType.TEXT, json.dumps(subscribe).encode())
                kind = await asyncio.wait_for(answer, ANSWER_TIMEOUT_S)
            except (OSError, TimeoutError, WSError) as error:
                return type(error).__name__
        map_socket.answered_at = time.monotonic()
        return kind

    def take_message(
        self, map_socket: MapSocket, text: str, arrived: float, *, recorded: bool = False
    ) -> str:
        """A message from the server, as it arrives (in the socket's callback, no task in
        between: the maps' own event loops are part of what is measured), or once the
        recording ends (``recorded``)."""
        message = json.loads(text)
        if message["type"] == "changes":
            map_socket.take_changes(message, arrived, recorded)
            if not recorded:
                self.counter.value += 1
        elif message["type"] == "snapshot":
            map_socket.take_snapshot(message)
        else:
            return f"{message['type']} {message.get('code', '')}"
        return message["type"]

    def record(self, recording: bool) -> None:
        """Starts noting the messages, or stops and reads what was noted, in order."""
        self.recording = recording
        if recording:
            return
        for map_socket in self.maps:
            for arrived, text in map_socket.unread:
                self.take_message(map_socket, text, arrived, recorded=True)
            map_socket.unread = []

    async def open(self) -> dict[str, int]:
        answers = await asyncio.gather(*(self.subscribe(map_, None) for map_ in self.maps))
        return _counted(answers)

    async def close(self) -> None:
        connections = [map_.connection for map_ in self.maps if map_.connection is not None]
        for connection in connections:
            connection.send_close(WSCloseCode.OK)
            connection.disconnect()
        await asyncio.gather(
            *(
                asyncio.wait_for(connection.wait_disconnected(), ANSWER_TIMEOUT_S)
                for connection in connections
            ),
            return_exceptions=True,
        )

    async def storm(self, started: float) -> dict[str, Any]:
        """Every socket closed at once, then every one resubscribing with ``since``, all at
        once: how each was answered, and when the last answer came (after ``started``)."""
        await self.close()
        sinces = [map_socket.seq for map_socket in self.maps]
        gaps_before = sum(map_socket.gaps for map_socket in self.maps)
        answers = await asyncio.gather(
            *(
                self.subscribe(map_socket, since)
                for map_socket, since in zip(self.maps, sinces, strict=True)
            )
        )
        answered = [map_.answered_at - started for map_ in self.maps if map_.answered_at > started]
        return {
            "answers": _counted(answers),
            "seconds": sorted(answered),
            "gaps": sum(map_socket.gaps for map_socket in self.maps) - gaps_before,
            "seqs": [map_socket.seq for map_socket in self.maps],
        }

    def views(self, available: Sequence[PlacedSpot]) -> dict[str, int]:
        """Each map's view against the spots available in its box: missed (available, not
        shown), stale (shown, not available), and what arrived twice or out of order."""
        by_lat = sorted(available, key=lambda spot: spot[1])
        lats = [spot[1] for spot in by_lat]
        missed = stale = 0
        for map_socket in self.maps:
            south, west, north, east = map_socket.box
            low, high = bisect.bisect_left(lats, south), bisect.bisect_right(lats, north)
            expected = {spot_id for spot_id, _, lng in by_lat[low:high] if west <= lng <= east}
            missed += len(expected - map_socket.shown)
            stale += len(map_socket.shown - expected)
        return {
            "maps": len(self.maps),
            "missed": missed,
            "stale": stale,
            "repeated": sum(map_socket.repeated for map_socket in self.maps),
            "duplicate_ids": sum(map_socket.duplicate_ids for map_socket in self.maps),
            "gaps": sum(map_socket.gaps for map_socket in self.maps),
        }

    def latencies(self, stamps: dict[int, list[Stamp]]) -> dict[str, list[float]]:
        """For every spot of every recorded message, taken or shown (freed, updated): its
        arrival less the moment its latest event in the message's range was made
        (``stamps``: each spot's events, by seq)."""
        latencies: dict[str, list[float]] = {"taken": [], "shown": []}
        for map_socket in self.maps:
            for arrived, from_seq, seq, taken, shown in map_socket.received:
                for kind, spot_ids in (("taken", taken), ("shown", shown)):
                    for spot_id in spot_ids:
                        events = stamps.get(spot_id, [])
                        at = bisect.bisect_right(events, (seq, float("inf"))) - 1
                        if at >= 0 and events[at][0] > from_seq:
                            latencies[kind].append(arrived - events[at][1])
        return latencies


def _counted(answers: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer] = counts.get(answer, 0) + 1
    return counts


async def _serve(pipe: Connection, fleet: MapFleet) -> None:
    """Runs the fleet's commands, read from ``pipe`` while its sockets read their messages."""
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    # uvloop makes a watched descriptor non-blocking; a command is read whole once it starts.
    os.set_blocking(pipe.fileno(), True)
    while True:
        command, argument = await asyncio.wait_for(commands.get(), COMMAND_TIMEOUT_S)
        if command == "open":
            pipe.send(await fleet.open())
        elif command == "record":
            fleet.record(argument)
            pipe.send(None)
        elif command == "views":
            pipe.send(fleet.views(argument))
        elif command == "latencies":
            pipe.send(fleet.latencies(argument))
        elif command == "storm":
            pipe.send(await fleet.storm(argument))
        elif command == "close":
            await fleet.close()
            pipe.send(None)
            return


def _fleet_main(pipe: Connection, url: str, boxes: Sequence[Box], counter: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bench process's to handle
    # The maps keep every message they time (``received``): a heap growing by thousands of
    # objects a second, which CPython's default thresholds walk whole again and again, pausing
    # the maps and adding the pauses to the latencies measured. As in the socket server.
    gc.set_threshold(50_000, 20, 100)
    # uvloop (uvicorn's loop, installed with it): reading thousands of sockets in C.
    uvloop.run(_serve(pipe, MapFleet(url, boxes, counter)))


class Fleets:
    """``processes`` client processes sharing ``boxes``, one socket per box; each command goes
    to all of them at once and their answers come back as a list. The processes are ended on
    leaving the ``with`` block, however it is left."""

    def __init__(self, url: str, boxes: Sequence[Box], processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.counters = [context.Value("q", 0, lock=False) for _ in range(processes)]
        self.pipes: list[Connection] = []
        self.processes = []
        for index, counter in enumerate(self.counters):
            ours, theirs = context.Pipe()
            self.pipes.append(ours)
            self.processes.append(
                context.Process(
                    target=_fleet_main,
                    args=(theirs, url, list(boxes[index::processes]), counter),
                    name=f"live-maps-{index}",
                    daemon=True,
                )
            )

    def __enter__(self) -> "Fleets":
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(timeout=10)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def ask(self, command: str, argument: Any = None, *, timeout_s: float = COMMAND_TIMEOUT_S):
        for pipe in self.pipes:
            pipe.send((command, argument))
        answers = []
        for pipe in self.pipes:
            if not pipe.poll(timeout_s):
                raise TimeoutError(f"the map clients did not answer {command!r}")
            answers.append(pipe.recv())
        return answers

    def messages(self) -> int:
        return sum(counter.value for counter in self.counters)
