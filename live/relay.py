"""The relay: one task per socket-server process reads the events committed after the last
one it saw, in both outboxes, and hands them to this process's sockets: availability events
straight to the sockets watching their tiles of the map (a registry in this process),
reservation events through the channel layer, to one group per owner (a user, or a guest's
reservation). It decides nothing: which events exist is the spots' and reservations'
business, which a socket sends is the socket's."""

import asyncio
import bisect
import contextlib
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import psycopg
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, connections

from live.metrics import EVENTS_READ_DELAY
from live.selectors import Box, placed_events_after, reservation_events_json_after
from reservations.selectors import StreamOwner, current_reservation_event_seq
from securemyspot.outbox import listener_connection_params
from spots.models import AvailabilityEvent
from spots.selectors import current_seq

logger = logging.getLogger(__name__)

# Tiles of 0.01 degree (about 1.1 km north-south): a map's box of a km or so is a few tiles, and
# a batch is handed to the sockets near its events, not to every socket in a district.
TILE_DEGREES = 0.01
# Events read at once; a fuller backlog is read again at once.
BATCH_EVENTS = 500
# Channels' own default, for a layer that does not say.
DEFAULT_GROUP_EXPIRY = 86400
# While the relay hears commits (CommitBell), it still reads this often at least: a safety net,
# should a notification not come (the trigger dropped by a restore, say).
HEARING_POLL_SECONDS = 1.0
# After its listening connection fails, the bell tries again this often (the database may be
# restarting); meanwhile the relay polls every LIVE_POLL_SECONDS.
RELISTEN_SECONDS = 1.0


class Watcher(Protocol):
    """A socket watching a box of the map (``live.consumers.AvailabilityConsumer``)."""

    def take_batch(self, from_seq: int, seq: int, events: list[dict]) -> None: ...


def tile_of(lat: float, lng: float) -> tuple[int, int]:
    return math.floor(lat / TILE_DEGREES), math.floor(lng / TILE_DEGREES)


def tiles_of(box: Box) -> list[tuple[int, int]]:
    south, west = tile_of(box.south, box.west)
    north, east = tile_of(box.north, box.east)
    return [(row, col) for row in range(south, north + 1) for col in range(west, east + 1)]


class Relay:
    """Availability events go to this process's sockets directly: every socket server reads
    the database itself, so nothing needs to cross to another server, and a channel layer's
    round trip per tile per batch (Redis, with channels-redis) would cost more than the
    sending. Each batch is handed, synchronously, to every socket watching a tile it touches;
    ``published`` is the last seq handed out. A socket that gets no batch for a while had
    nothing in its tiles meanwhile.

    Reservation events go through the channel layer, in groups named for this process alone
    (a group shared between servers would deliver each event once per server). The relay
    keeps this process's sockets in their groups: the channel layer forgets a membership
    ``group_expiry`` after it was added (a day, by default), so a socket open longer would
    silently stop receiving. One timer re-adds every membership of the process well inside
    that time; an idle socket has no task of its own."""

    def __init__(self) -> None:
        self.prefix = f"live.{uuid.uuid4().hex[:16]}"
        self.layer = get_channel_layer()
        self.task: asyncio.Task | None = None
        self.started = asyncio.Event()
        self.published = 0  # availability: handed out through this seq (once started)
        # The last events handed out (at least LIVE_REPLAY_LIMIT of them, by seq): every
        # event after ``recent_from``, so that sockets resuming with ``since`` (a whole
        # server's clients after a restart or a network blip) need not each read the database.
        self.recent: list[dict] = []
        self.recent_from = 0
        # By tile, the sockets watching a box that overlaps it, each with its box's bounds
        # (south, west, north, east); and the tiles of each socket.
        self.watchers: dict[tuple[int, int], dict[Watcher, tuple[float, ...]]] = {}
        self.watched: dict[Watcher, list[tuple[int, int]]] = {}
        # The groups each socket (by channel name) belongs to, as the socket last set them,
        # and how many sockets are in each group.
        self.memberships: dict[str, list[str]] = {}
        self.members: Counter[str] = Counter()

    def watch(self, watcher: Watcher, box: Box) -> None:
        """From now on, ``watcher`` is handed every batch holding an event inside ``box`` (and
        no other), with those events alone."""
        self.unwatch(watcher)
        tiles = tiles_of(box)
        self.watched[watcher] = tiles
        bounds = (box.south, box.west, box.north, box.east)
        for tile in tiles:
            self.watchers.setdefault(tile, {})[watcher] = bounds

    def unwatch(self, watcher: Watcher) -> None:
        for tile in self.watched.pop(watcher, []):
            watching = self.watchers.get(tile)
            if watching is not None:
                watching.pop(watcher, None)
                if not watching:
                    del self.watchers[tile]

    async def join(self, channel: str, groups: list[str]) -> None:
        """Puts ``channel`` in exactly ``groups``, and keeps it there until ``leave``."""
        before = self.memberships.get(channel, [])
        # Set first: a refresh running meanwhile then sees what no longer holds (below).
        self.memberships[channel] = groups
        self.count_members(left=before, joined=groups)
        for group in set(before) - set(groups):
            await self.layer.group_discard(group, channel)
        for group in set(groups) - set(before):
            await self.layer.group_add(group, channel)

    async def leave(self, channel: str) -> None:
        groups = self.memberships.pop(channel, [])
        self.count_members(left=groups, joined=[])
        for group in groups:
            await self.layer.group_discard(group, channel)

    def count_members(self, *, left: list[str], joined: list[str]) -> None:
        for group in left:
            self.members[group] -= 1
            if self.members[group] <= 0:
                del self.members[group]
        for group in joined:
            self.members[group] += 1

    def listening(self) -> Callable[[int | None, int], bool]:
        """Whether the owner of an event (its user, or its guest reservation) has a socket in
        this process, as of now: a copy, asked from the relay's reading thread."""
        groups = frozenset(self.members)

        def listening(user_id: int | None, reservation_id: int) -> bool:
            if user_id is None:
                return self.guest_group(reservation_id) in groups
            return self.user_group(user_id) in groups

        return listening

    def user_group(self, user_id: int) -> str:
        return f"{self.prefix}.user.{user_id}"

    def guest_group(self, reservation_id: int) -> str:
        return f"{self.prefix}.guest.{reservation_id}"

    def owner_group(self, owner: StreamOwner) -> str:
        if owner.user_id is not None:
            return self.user_group(owner.user_id)
        return self.guest_group(owner.guest_reservation_id)

    async def run(self) -> None:
        await asyncio.gather(self.relay_events(), self.refresh_memberships())

    async def refresh_memberships(self) -> None:
        """Every quarter of the layer's ``group_expiry``, adds every socket of the process to
        its groups again, which restarts their expiry."""
        interval = getattr(self.layer, "group_expiry", DEFAULT_GROUP_EXPIRY) / 4
        while True:
            await asyncio.sleep(interval)
            try:
                for channel in list(self.memberships):
                    for group in list(self.memberships.get(channel, [])):
                        await self.layer.group_add(group, channel)
                        if group not in self.memberships.get(channel, []):
                            # The socket left the group (or closed) while this ran.
                            await self.layer.group_discard(group, channel)
            except Exception:
                # Redis restarting must not end the refreshes: the next one adds them again.
                logger.exception("live relay: refreshing group memberships failed")

    async def relay_events(self) -> None:
        """Follows both outboxes. ``started`` is set once both starting numbers are read, so a
        socket that reads its starting state after it misses nothing in between."""
        while True:
            try:
                availability = await database_sync_to_async(current_seq)()
                reservations = await database_sync_to_async(current_reservation_event_seq)()
                break
            except Exception:
                # Sockets wait for the start (``started``): the database may be back soon.
                logger.exception("live relay: reading where to start failed")
                await asyncio.sleep(settings.LIVE_POLL_SECONDS)
        self.published = self.recent_from = availability
        self.started.set()
        committed = CommitBell(AvailabilityEvent.COMMITTED_CHANNEL)
        listening = asyncio.create_task(committed.listen(), name="live-commit-bell")
        availability_reader = ReaderThread("live-availability")
        reservations_reader = ReaderThread("live-reservations")
        read_reservation_events = reservations_reader.run(reservation_events_json_after)

        async def listened_reservation_events(*, seq: int, limit: int) -> tuple[int, list[dict]]:
            return await read_reservation_events(seq=seq, limit=limit, listening=self.listening())

        try:
            await asyncio.gather(
                follow(
                    availability_reader.run(placed_events_after),
                    availability,
                    self.publish,
                    what="availability",
                    bell=committed,
                ),
                follow(
                    listened_reservation_events,
                    reservations,
                    self.publish_reservation_events,
                    what="reservation",
                    bell=CommitBell(channel=None),
                ),
            )
        finally:
            listening.cancel()
            availability_reader.close()
            reservations_reader.close()

    async def publish(self, from_seq: int, seq: int, events: list[dict]) -> None:
        """Hands each socket whose box holds an event of the batch the range and those events,
        all without yielding: a socket starting to watch sees the next batch whole. A socket
        is looked up by the tile of each event, then its box is checked: most sockets of a
        tile watch a box that does not hold a given event, and handing them nothing costs
        nothing later (a socket's next message covers the range since its last one)."""
        now = time.time()
        touched: dict[Watcher, list[dict]] = {}
        for event in events:
            EVENTS_READ_DELAY.labels(event["kind"]).observe(now - event["at"])
            lat, lng = event["lat"], event["lng"]
            for watcher, (south, west, north, east) in self.watchers.get(
                tile_of(lat, lng), {}
            ).items():
                # Box.holds, written out: it runs for every socket near every event.
                if south <= lat <= north and west <= lng <= east:
                    touched.setdefault(watcher, []).append(event)
        for watcher, watcher_events in touched.items():
            watcher.take_batch(from_seq, seq, watcher_events)
        self.published = seq
        self.keep_recent(events)

    def keep_recent(self, events: list[dict]) -> None:
        self.recent.extend(events)
        keep = settings.LIVE_REPLAY_LIMIT
        if len(self.recent) > 2 * keep:  # trimmed now and then, not every batch
            self.recent_from = self.recent[-keep - 1]["seq"]
            del self.recent[:-keep]

    def replay(self, since: int) -> tuple[int, list[dict]] | None:
        """Every event handed out after ``since`` and the seq they run to, if the relay still
        holds them all and they are at most ``LIVE_REPLAY_LIMIT``; else None (read them from
        the database, or send a snapshot)."""
        if not self.recent_from <= since <= self.published:
            return None
        if self.published - since > settings.LIVE_REPLAY_LIMIT:
            return None
        start = bisect.bisect_right(self.recent, since, key=lambda event: event["seq"])
        return self.published, self.recent[start:]

    async def publish_reservation_events(self, from_seq: int, seq: int, events: list[dict]) -> None:
        """Each owner's events to that owner's group: a user's to the user's, a guest's to the
        guest's reservation's."""
        by_group: dict[str, list[dict]] = {}
        for event in events:
            group = (
                self.guest_group(event["reservation_id"])
                if event["user_id"] is None
                else self.user_group(event["user_id"])
            )
            by_group.setdefault(group, []).append(event)
        for group, owner_events in by_group.items():
            await self.layer.group_send(
                group, {"type": "reservation.events", "events": owner_events}
            )


class ReaderThread:
    """A thread, and so a database connection, of one of the relay's reads alone. Channels
    runs every other database call of the process on one shared thread, one at a time: there
    the relay's poll would wait behind each socket's snapshot, and availability behind the
    rendering of reservation events. On SQLite (the embedded default, one writer at a time)
    the reads stay on the shared thread: its in-memory test database locks a table against
    the other connections while one writes, where a file waits."""

    def __init__(self, name: str) -> None:
        self.executor = (
            None
            if connection.vendor == "sqlite"
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        )

    def run(
        self, read: Callable[..., tuple[int, list[dict]]]
    ) -> Callable[..., Awaitable[tuple[int, list[dict]]]]:
        if self.executor is None:
            return database_sync_to_async(read)
        return database_sync_to_async(read, thread_sensitive=False, executor=self.executor)

    def close(self) -> None:
        """Closes the thread's connection (a connection belongs to its thread) and the thread."""
        if self.executor is not None:
            self.executor.submit(connections.close_all)
            self.executor.shutdown(wait=False)


class CommitBell:
    """Rings when a transaction writing events to an outbox commits: PostgreSQL's ``NOTIFY``
    on ``channel``, sent by a trigger on the outbox (spots migration 0003), heard on a
    connection of the bell's own in this event loop. The relay then reads at once, where its
    poll made every event wait half of ``LIVE_POLL_SECONDS`` on average. While it hears
    nothing (SQLite, no channel, the connection lost), ``wait`` is the poll.

    The reservation outbox has no bell: its events are a driver's own, for whom a poll's delay
    is nothing, and PostgreSQL makes notifying commits take turns: the availability writers
    take turns already (the sequence row), but a ``NOTIFY`` from the reservation events'
    writers would make the engine's charges wait on bookings at commit, and the other way."""

    def __init__(self, channel: str | None) -> None:
        self.channel = channel
        self.rung = asyncio.Event()
        self.hearing = False

    async def wait(self) -> None:
        """Until the bell rings, or the poll is due."""
        poll = settings.LIVE_POLL_SECONDS
        if self.hearing:
            poll = max(poll, HEARING_POLL_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.rung.wait(), poll)

    async def listen(self) -> None:
        if self.channel is None or connection.vendor != "postgresql":
            return
        while True:
            try:
                await self.hear_commits()
            except (psycopg.Error, OSError):
                logger.exception("live relay: listening for commits failed; polling meanwhile")
            finally:
                self.hearing = False
            await asyncio.sleep(RELISTEN_SECONDS)

    async def hear_commits(self) -> None:
        params = listener_connection_params()
        async with await psycopg.AsyncConnection.connect(autocommit=True, **params) as listener:
            await listener.execute(f"LISTEN {self.channel}")
            self.hearing = True
            self.rung.set()  # what committed before the LISTEN is read now, not at the poll
            async for _ in listener.notifies():
                self.rung.set()


async def follow(
    read: Callable[..., Awaitable[tuple[int, list[dict]]]],
    seq: int,
    publish: Callable[[int, int, list[dict]], Awaitable[None]],
    *,
    what: str,
    bell: CommitBell,
) -> None:
    """Reads an outbox's events after ``seq`` whenever ``bell`` rings or its poll is due (at
    once while a backlog lasts) and publishes each range read. The bell is silenced before
    each read: a commit during the read rings it again, and is read next."""
    while True:
        bell.rung.clear()
        try:
            through, events = await read(seq=seq, limit=BATCH_EVENTS)
        except Exception:
            # A database restart must not end the stream: it goes on from `seq`.
            logger.exception("live relay: reading %s events failed", what)
            through, events = seq, []
        backlog = through - seq >= BATCH_EVENTS
        if through > seq:
            await publish(seq, through, events)
            seq = through
        if not backlog:
            await bell.wait()


_relays: dict[asyncio.AbstractEventLoop, Relay] = {}


def running_relay() -> Relay:
    """This process's relay, started on first use (one per event loop)."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None or relay.task is None or relay.task.done():
        for stale in [other for other in _relays if other.is_closed()]:
            del _relays[stale]
        relay = _relays[loop] = Relay()
        relay.task = loop.create_task(relay.run(), name="live-relay")
    return relay
