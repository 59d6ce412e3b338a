"""/ws/availability/ and /ws/reservations/: thin adapters between a client's frames and the
relay's events."""

import asyncio
import time
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from live.metrics import (
    CHANGES_WRITTEN_DELAY,
    OPEN_SOCKETS,
    SNAPSHOTS_RESENT,
    count_message_sent,
)
from live.owners import stream_owner, token_still_valid
from live.protocol import (
    POLICY_VIOLATION,
    Authenticate,
    Ping,
    ProtocolError,
    Subscribe,
    parse,
    parse_reservations_frame,
)
from live.relay import running_relay
from live.selectors import (
    Box,
    owners_events_json_after,
    owners_snapshot,
    placed_events_after,
)
from reservations.selectors import StreamOwner
from spots.selectors import available_spots_in_box, current_seq


class FrameConsumer(AsyncJsonWebsocketConsumer):
    """What both sockets do with a client's frames: count them (too many a second closes the
    socket) and answer a ``ProtocolError`` with its error message."""

    async def connect(self) -> None:
        self.relay = running_relay()
        OPEN_SOCKETS.inc()  # with the relay: what disconnect() undoes
        self.window_start, self.window_count = time.monotonic(), 0
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "relay"):
            OPEN_SOCKETS.dec()

    async def send_json(self, content: dict, close: bool = False) -> None:
        count_message_sent(content["type"])
        await super().send_json(content, close=close)

    async def send_text(self, kind: str, text: str) -> None:
        """A message already written as JSON text, of type ``kind``, straight to the server."""
        count_message_sent(kind)
        await self.base_send({"type": "websocket.send", "text": text})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            self.count_message()
            await self.handle(text_data)
        except ProtocolError as error:
            await self.send_json(error.as_message())
            if error.close_code is not None:
                await self.close(code=error.close_code)

    async def handle(self, text: str | None) -> None:
        raise NotImplementedError

    def count_message(self) -> None:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        if self.window_count > settings.LIVE_MAX_MESSAGES_PER_SECOND:
            raise ProtocolError(
                "too_many_messages",
                f"At most {settings.LIVE_MAX_MESSAGES_PER_SECOND} messages a second.",
                close_code=POLICY_VIOLATION,
            )


class AvailabilityConsumer(FrameConsumer):
    """State: ``box`` watched; ``sent`` the seq of the client's last snapshot or changes;
    ``seq`` the seq through which ``pending`` (by seq) holds every event in the box;
    ``behind`` once the client is owed a fresh snapshot instead; ``inbox`` the relay's
    batches that came while events could not be taken in (a snapshot being read)."""

    # No channel layer: the relay hands this socket its events in-process (live/relay.py).
    # With one, Channels would give every map a channel and a receiving task of its own.
    channel_layer_alias = "none: the relay hands availability events in-process"

    async def connect(self) -> None:
        self.box: Box | None = None
        self.sent = self.seq = 0
        self.pending: dict[int, dict] = {}
        # Sends what the relay brought, one message at a time (schedule_sending).
        self.writer: asyncio.Task | None = None
        self.writing = False  # the writer is sending, not waiting for the batch interval
        self.behind = False
        # Held while events are taken in, and while a snapshot is read: an event is either in
        # the snapshot or after it.
        self.taking_in = asyncio.Lock()
        self.inbox: deque[tuple[int, int, list[dict]]] = deque()
        self.emptying_inbox: asyncio.Task | None = None
        self.last_sent_at = time.monotonic()
        await super().connect()

    async def disconnect(self, code: int) -> None:
        for task in (getattr(self, "writer", None), getattr(self, "emptying_inbox", None)):
            if task is not None:
                task.cancel()
        if hasattr(self, "relay"):
            self.relay.unwatch(self)
        await super().disconnect(code)

    async def handle(self, text: str | None) -> None:
        message = parse(
            text,
            max_bytes=settings.LIVE_MAX_FRAME_BYTES,
            max_box_degrees=settings.LIVE_MAX_BOX_DEGREES,
        )
        if isinstance(message, Ping):
            await self.send_json({"type": "pong"})
        elif isinstance(message, Subscribe):
            await self.subscribe(message)

    async def subscribe(self, message: Subscribe) -> None:
        # The relay hands out everything after its starting seq; what the socket reads from
        # the database below is read after that, so nothing falls between the two.
        await self.relay.started.wait()
        if (
            message.since is not None
            and message.since > self.relay.published
            and message.since > await database_sync_to_async(current_seq)()
        ):
            raise ProtocolError("bad_since", '"since" is ahead of the last event.')
        async with self.taking_in:
            self.box, self.behind = None, False  # no changes go out until the answer has
            self.relay.watch(self, message.box)
            if message.since is not None:
                events = await self.events_after(message.since, message.box)
                if events is not None:
                    self.box, self.sent = message.box, message.since
                    self.pending = {event["seq"]: event for event in events[1]}
                    self.seq = events[0]
                    await self.send_changes(always=True)
                    return
            await self.send_text("snapshot", await self.take_snapshot(message.box))

    async def take_snapshot(self, box: Box) -> str:
        """The snapshot message of ``box``, as JSON text (the spots' JSON as the database
        wrote it, not parsed and written again); what follows it is counted from its
        ``seq``."""
        limit = settings.LIVE_SNAPSHOT_LIMIT
        snapshot = await database_sync_to_async(available_spots_in_box)(
            south=box.south, west=box.west, north=box.north, east=box.east, limit=limit
        )
        seq = snapshot.seq
        if snapshot.truncated:
            self.box = None
            raise ProtocolError(
                "too_many_spots", f"The box holds more than {limit} spots: watch a smaller one."
            )
        self.box, self.sent, self.seq, self.pending = box, seq, seq, {}
        self.last_sent_at = time.monotonic()
        return f'{{"type": "snapshot", "seq": {seq}, "spots": [{", ".join(snapshot.spots)}]}}'

    def fall_behind(self) -> None:
        """The client is too far behind to catch up change by change (it does not read fast
        enough): drop what it has queued, take in nothing more, and send it the present as
        soon as its socket takes a message."""
        SNAPSHOTS_RESENT.inc()
        self.behind, self.pending = True, {}
        self.schedule_sending()

    async def events_after(self, seq: int, box: Box) -> tuple[int, list[dict]] | None:
        """The events in ``box`` after ``seq`` and the seq they run to: from the relay's
        memory if it holds them all (read in the same step as the socket began watching, so
        the next batch follows on), else from the database, up to the last committed; None if
        there are too many to replay or they are no longer all kept."""
        replayed = self.relay.replay(seq) or await self.events_in_database_after(seq)
        if replayed is None:
            return None
        through, events = replayed
        return through, [event for event in events if box.holds(event["lat"], event["lng"])]

    async def events_in_database_after(self, seq: int) -> tuple[int, list[dict]] | None:
        limit = settings.LIVE_REPLAY_LIMIT
        last = await database_sync_to_async(current_seq)()
        if last - seq > limit:
            return None
        through, events = await database_sync_to_async(placed_events_after)(seq=seq, limit=limit)
        if through < last:
            return None
        return through, events

    def take_batch(self, from_seq: int, seq: int, events: list[dict]) -> None:
        """The relay's batch: the range ``from_seq`` < seq <= ``seq`` and its events inside
        this socket's box. Called without yielding; while a snapshot is read (or batches wait
        before this one), it waits in the inbox."""
        if self.taking_in.locked() or self.inbox:
            self.inbox.append((from_seq, seq, events))
            if self.emptying_inbox is None:
                self.emptying_inbox = asyncio.create_task(self.empty_inbox())
            return
        self.take_in(seq, events)

    async def empty_inbox(self) -> None:
        async with self.taking_in:
            while self.inbox:
                _, seq, events = self.inbox.popleft()
                self.take_in(seq, events)
        self.emptying_inbox = None

    def take_in(self, seq: int, events: list[dict]) -> None:
        """The events in the box after ``seq``; none in the box up to ``seq`` are missing:
        the relay hands this socket every event inside its box since it began watching,
        which was before its snapshot or replay was read."""
        if self.box is None or self.behind or seq <= self.seq:
            return
        for event in events:
            if event["seq"] > self.seq:
                self.pending[event["seq"]] = event
        self.seq = seq
        if len(self.pending) > settings.LIVE_REPLAY_LIMIT:
            self.fall_behind()
        else:
            self.schedule_sending()

    def schedule_sending(self) -> None:
        """Sends the events taken in, at most once a batch interval, or the snapshot of a
        client fallen behind. One message at a time: while the client does not read, nothing
        more is written to it, and what it misses meanwhile is bounded (above). An idle socket
        has no task waking it."""
        if self.writer is not None and self.behind and not self.writing:
            self.writer.cancel()  # only waiting out the batch interval: the snapshot goes now
            self.writer = None
        if self.writer is not None or self.box is None:
            return
        if self.behind:
            wait = 0.0
        elif self.pending:
            wait = self.last_sent_at + settings.LIVE_BATCH_SECONDS - time.monotonic()
        else:
            return
        self.writer = asyncio.create_task(self.send_after(max(wait, 0.0)))

    async def send_after(self, wait: float) -> None:
        if wait > 0:
            await asyncio.sleep(wait)
        self.writing = True
        try:
            if self.behind:
                await self.send_present()
            elif self.box is not None:
                await self.send_changes()
        except OSError:  # the client is gone; disconnect() follows
            return
        self.writer, self.writing = None, False
        self.schedule_sending()  # what came in while this was sent

    async def send_present(self) -> None:
        async with self.taking_in:  # no event is taken in while the present is read
            if not self.behind or self.box is None:
                return
            self.behind = False
            try:
                snapshot, refused = await self.take_snapshot(self.box), None
            except ProtocolError as error:  # the box has filled up since it was subscribed
                snapshot, refused = None, error.as_message()
        if refused is not None:
            await self.send_json(refused)
        else:
            await self.send_text("snapshot", snapshot)

    async def send_changes(self, *, always: bool = False) -> None:
        """What changed since the last message, each spot once, as it ended up. Written as
        text from the spots' JSON text (``placed_events_after``): a message reaches many
        sockets, and encoding each spot again for each was most of the sending."""
        if not self.pending and not always:
            return
        final: dict[int, dict] = {}
        for seq in sorted(self.pending):
            event = self.pending[seq]
            final[event["spot_id"]] = event
        self.pending = {}
        changes: dict[str, list[str]] = {"taken": [], "freed": [], "updated": []}
        for spot_id, event in final.items():
            if event["kind"] == "taken":
                changes["taken"].append(str(spot_id))
            elif event["spot_json"] is not None:  # None: the spot was deleted since
                changes[event["kind"]].append(event["spot_json"])
        text = (
            f'{{"type": "changes", "from_seq": {self.sent}, "seq": {self.seq}, '
            f'"taken": [{", ".join(changes["taken"])}], '
            f'"freed": [{", ".join(changes["freed"])}], '
            f'"updated": [{", ".join(changes["updated"])}]}}'
        )
        self.sent, self.last_sent_at = self.seq, time.monotonic()
        await self.send_text("changes", text)
        if final:
            oldest = min(event["at"] for event in final.values())
            CHANGES_WRITTEN_DELAY.observe(time.time() - oldest)


class ReservationsConsumer(FrameConsumer):
    """/ws/reservations/: the events of the reservations of whoever authenticated, and no one
    else's. State: ``owner`` (None until an authenticate succeeds), the ``token`` it signed in
    with (a user's), the owner's ``group``, and ``seq``, the last event number sent or
    covered by the starting state."""

    async def connect(self) -> None:
        self.owner: StreamOwner | None = None
        self.token: str | None = None
        self.group: str | None = None
        self.seq = 0
        await super().connect()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "relay"):
            await self.relay.leave(self.channel_name)
        await super().disconnect(code)

    async def handle(self, text: str | None) -> None:
        message = parse_reservations_frame(text, max_bytes=settings.LIVE_MAX_FRAME_BYTES)
        if isinstance(message, Ping):
            await self.send_json({"type": "pong"})
        else:
            await self.authenticate(message)

    async def sign_out(self) -> None:
        if self.group is not None:
            await self.relay.leave(self.channel_name)
        self.owner = self.token = self.group = None

    async def authenticate(self, message: Authenticate) -> None:
        """Replaces any earlier sign-in, even when refused. The group is joined before the
        starting state is read, so every event after that state's number reaches the socket;
        the relay's own starting number is read before both."""
        await self.sign_out()
        owner = await database_sync_to_async(stream_owner)(message)
        await self.relay.started.wait()
        group = self.relay.owner_group(owner)
        await self.relay.join(self.channel_name, [group])
        self.group = group
        seq, reservations = await database_sync_to_async(owners_snapshot)(owner)
        if message.since is not None and message.since > seq:
            raise ProtocolError("bad_since", '"since" is ahead of the last event.')
        self.owner, self.token, self.seq = owner, message.token, seq
        await self.send_json({"type": "authenticated", "seq": seq, "reservations": reservations})
        if message.since is not None:
            replayed = await database_sync_to_async(owners_events_json_after)(
                owner, seq=message.since, through=seq, limit=settings.LIVE_REPLAY_LIMIT
            )
            for event in replayed:
                await self.send_json(reservation_message(event))

    async def reservation_events(self, message: dict) -> None:
        """An owner's batch from the relay: sent if the token still holds (an expired or
        revoked one signs the socket out instead)."""
        owner = self.owner
        if owner is None:
            return
        events = [
            event
            for event in message["events"]
            if event["seq"] > self.seq
            and owner.owns(user_id=event["user_id"], reservation_id=event["reservation_id"])
        ]
        if not events:
            return
        if self.token is not None and not await database_sync_to_async(token_still_valid)(
            self.token
        ):
            await self.sign_out()
            await self.send_json(
                ProtocolError(
                    "not_authenticated", "The token has expired or was signed out."
                ).as_message()
            )
            return
        for event in events:
            self.seq = event["seq"]
            await self.send_json(reservation_message(event))


def reservation_message(event: dict) -> dict:
    return {
        "type": "reservation",
        "event": event["kind"],
        "seq": event["seq"],
        "at": event["at"],
        "reservation": event["reservation"],
    }
