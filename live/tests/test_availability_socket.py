"""/ws/availability/ through Channels' communicator: every message a client may send, and
every bad one, against the test database and the in-memory channel layer."""

import inspect
import json
from collections.abc import Awaitable, Callable
from functools import wraps

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from prometheus_client import REGISTRY

from live.routing import websocket_urlpatterns
from live.tests.conftest import MIDTOWN, closing_code, record_event, stop_relays
from spots.models import AvailabilityEvent
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = 5.0
application = URLRouter(websocket_urlpatterns)
record = sync_to_async(record_event)


def with_socket(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Runs ``test(socket, ...)`` on a connected socket; afterwards the socket and the relay
    the test started are gone."""

    @wraps(test)
    def run(*args, **kwargs) -> None:
        async def session() -> None:
            socket = WebsocketCommunicator(application, "/ws/availability/")
            connected, _ = await socket.connect(timeout=DEADLINE)
            assert connected
            try:
                await test(socket, *args, **kwargs)
            finally:
                await socket.disconnect()
                stop_relays()

        async_to_sync(session)()

    # pytest gives the test its fixtures, all but the socket.
    signature = inspect.signature(test)
    run.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    return run


async def subscribe(socket, bbox=MIDTOWN, since=None) -> dict:
    await socket.send_json_to({"type": "subscribe", "bbox": bbox, "since": since})
    return await socket.receive_json_from(timeout=DEADLINE)


async def changes(socket) -> dict:
    message = await socket.receive_json_from(timeout=DEADLINE)
    assert message["type"] == "changes", message
    return message


async def error_code(socket, frame: dict | str) -> str:
    if isinstance(frame, dict):
        await socket.send_json_to(frame)
    else:
        await socket.send_to(text_data=frame)
    message = await socket.receive_json_from(timeout=DEADLINE)
    assert message["type"] == "error", message
    assert message["message"]
    return message["code"]


@with_socket
async def test_ping_is_answered_with_pong(socket):
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=DEADLINE) == {"type": "pong"}


@with_socket
async def test_subscribe_answers_with_the_spots_available_in_the_box(socket, inside, outside):
    await record(inside, "freed")

    snapshot = await subscribe(socket)

    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == 1
    assert [spot["id"] for spot in snapshot["spots"]] == [inside.id]
    assert set(snapshot["spots"][0]) == {
        "id", "lat", "lng", "reserved", "active", "rate", "created_at", "updated_at"
    }  # fmt: skip
    assert snapshot["spots"][0]["lat"] == "40.758000"


@with_socket
async def test_a_spot_taken_in_the_box_arrives_as_changes_after_the_snapshot(socket, inside):
    snapshot = await subscribe(socket)

    seq = await record(inside, "taken")

    assert await changes(socket) == {
        "type": "changes",
        "from_seq": snapshot["seq"],
        "seq": seq,
        "taken": [inside.id],
        "freed": [],
        "updated": [],
    }


@with_socket
async def test_a_freed_spot_arrives_with_its_json(socket, inside):
    await subscribe(socket)

    await record(inside, "freed")

    freed = (await changes(socket))["freed"]
    assert [spot["id"] for spot in freed] == [inside.id]
    assert freed[0]["rate"] == "4.50"


@with_socket
async def test_events_outside_the_box_are_left_out_but_the_range_stays_contiguous(
    socket, inside, outside
):
    snapshot = await subscribe(socket)

    await record(outside, "taken")
    seq = await record(inside, "updated")

    # The two may come in one message or two.
    messages = [await changes(socket)]
    while messages[-1]["seq"] < seq:
        messages.append(await changes(socket))
    assert [m["from_seq"] for m in messages] == [
        snapshot["seq"],
        *[m["seq"] for m in messages[:-1]],
    ]
    assert [spot["id"] for m in messages for spot in m["updated"]] == [inside.id]
    assert [spot_id for m in messages for spot_id in m["taken"]] == []


@with_socket
async def test_a_new_subscribe_replaces_the_box(socket, inside, outside):
    await subscribe(socket)
    around_outside = [40.76, -73.968, 40.77, -73.96]
    await subscribe(socket, bbox=around_outside)

    await record(inside, "taken")
    seq = await record(outside, "taken")

    message = await changes(socket)
    assert message["taken"] == [outside.id]
    assert message["seq"] == seq


@with_socket
async def test_subscribing_since_a_seq_replays_the_changes_after_it(socket, inside, outside):
    since = await record(inside, "freed")
    await record(outside, "taken")
    seq = await record(inside, "taken")

    # The answer runs to what the relay has read; the rest, if any, follows as changes.
    messages = [await subscribe(socket, since=since)]
    while messages[-1]["seq"] < seq:
        messages.append(await changes(socket))

    assert messages[0]["type"] == "changes"
    assert [m["from_seq"] for m in messages] == [since, *[m["seq"] for m in messages[:-1]]]
    assert messages[-1]["seq"] == seq
    assert [spot_id for m in messages for spot_id in m["taken"]] == [inside.id]
    assert [spot for m in messages for spot in m["freed"] + m["updated"]] == []


@with_socket
async def test_subscribing_since_the_last_seq_answers_with_empty_changes(socket, inside):
    seq = await record(inside, "freed")

    message = await subscribe(socket, since=seq)

    assert message == {
        "type": "changes", "from_seq": seq, "seq": seq, "taken": [], "freed": [], "updated": []
    }  # fmt: skip


@with_socket
async def test_subscribing_since_too_long_ago_gets_a_snapshot(socket, inside, settings):
    settings.LIVE_REPLAY_LIMIT = 2
    for _ in range(3):
        await record(inside, "updated")

    message = await subscribe(socket, since=0)

    assert message["type"] == "snapshot"
    assert message["seq"] == 3


@with_socket
async def test_a_client_too_far_behind_gets_a_fresh_snapshot(socket, inside, settings):
    # Nothing is sent between batches, so the events queue for the client.
    settings.LIVE_BATCH_SECONDS = 60
    settings.LIVE_REPLAY_LIMIT = 2
    await subscribe(socket)

    for _ in range(3):
        await record(inside, "updated")

    message = await socket.receive_json_from(timeout=DEADLINE)
    assert message["type"] == "snapshot"
    assert message["seq"] == 3


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@with_socket
async def test_the_open_sockets_gauge_counts_a_socket_until_it_closes(socket):
    open_now = sample("securemyspot_live_open_sockets")
    second = WebsocketCommunicator(application, "/ws/availability/")
    assert (await second.connect(timeout=DEADLINE))[0]
    assert sample("securemyspot_live_open_sockets") == open_now + 1

    await second.disconnect()

    assert sample("securemyspot_live_open_sockets") == open_now


@with_socket
async def test_messages_sent_are_counted_by_type(socket):
    pongs = sample("securemyspot_live_messages_sent_total", type="pong")

    await socket.send_json_to({"type": "ping"})
    await socket.receive_json_from(timeout=DEADLINE)

    assert sample("securemyspot_live_messages_sent_total", type="pong") == pongs + 1


@with_socket
async def test_an_event_delivered_is_timed_from_its_write_to_its_read_and_its_sending(
    socket, inside
):
    read = sample("securemyspot_live_event_read_delay_seconds_count", kind="taken")
    written = sample("securemyspot_live_changes_written_delay_seconds_count")
    await subscribe(socket)

    await record(inside, "taken")
    await changes(socket)

    assert sample("securemyspot_live_event_read_delay_seconds_count", kind="taken") == read + 1
    assert sample("securemyspot_live_changes_written_delay_seconds_count") == written + 1
    # Just written: well inside the first buckets, not an epoch or a clock in another zone.
    assert sample("securemyspot_live_changes_written_delay_seconds_bucket", le="10.0") == sample(
        "securemyspot_live_changes_written_delay_seconds_count"
    )


@with_socket
async def test_a_snapshot_resent_to_a_client_too_far_behind_is_counted(socket, inside, settings):
    settings.LIVE_BATCH_SECONDS = 60
    settings.LIVE_REPLAY_LIMIT = 2
    await subscribe(socket)
    resent = sample("securemyspot_live_snapshots_resent_total")

    for _ in range(3):
        await record(inside, "updated")
    await socket.receive_json_from(timeout=DEADLINE)

    assert sample("securemyspot_live_snapshots_resent_total") == resent + 1


@with_socket
async def test_since_ahead_of_the_last_event_is_refused(socket):
    code = await error_code(socket, {"type": "subscribe", "bbox": MIDTOWN, "since": 5})
    assert code == "bad_since"


@with_socket
async def test_a_frame_that_is_not_json_gets_an_error_and_the_socket_stays_open(socket):
    assert await error_code(socket, "{not json") == "not_json"
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=DEADLINE) == {"type": "pong"}


@with_socket
async def test_a_binary_frame_gets_an_error(socket):
    await socket.send_to(bytes_data=b'{"type": "ping"}')
    message = await socket.receive_json_from(timeout=DEADLINE)
    assert message["code"] == "not_text"


@pytest.mark.parametrize("frame", [[], "ping", {"kind": "ping"}, {"type": 3}])
@with_socket
async def test_a_frame_that_is_not_a_typed_object_gets_an_error(socket, frame):
    assert await error_code(socket, json.dumps(frame)) == "bad_message"


@with_socket
async def test_an_unknown_type_gets_an_error(socket):
    assert await error_code(socket, {"type": "unsubscribe"}) == "unknown_type"


@pytest.mark.parametrize(
    "bbox",
    [
        None,
        [40.7, -74.0, 40.8],
        [40.7, -74.0, 40.8, "-73.9"],
        [40.7, -74.0, 40.8, True],
        [40.8, -74.0, 40.7, -73.9],  # south above north
        [40.7, -73.9, 40.8, -74.0],  # west east of east
        [-91, -74.0, 40.8, -73.9],
        [40.7, -74.0, 40.8, 181],
    ],
)
@with_socket
async def test_a_bad_box_gets_an_error(socket, bbox):
    assert await error_code(socket, {"type": "subscribe", "bbox": bbox}) == "bad_bbox"


@with_socket
async def test_a_box_too_large_gets_an_error(socket):
    code = await error_code(socket, {"type": "subscribe", "bbox": [40.5, -74.3, 40.9, -73.7]})
    assert code == "bbox_too_large"


@pytest.mark.parametrize("since", [-1, 1.5, "3", True])
@with_socket
async def test_a_bad_since_gets_an_error(socket, since):
    code = await error_code(socket, {"type": "subscribe", "bbox": MIDTOWN, "since": since})
    assert code == "bad_since"


@with_socket
async def test_a_box_with_more_spots_than_a_snapshot_holds_gets_an_error(socket, settings):
    settings.LIVE_SNAPSHOT_LIMIT = 1
    await sync_to_async(ParkingSpotFactory.create_batch)(2)

    assert await error_code(socket, {"type": "subscribe", "bbox": MIDTOWN}) == "too_many_spots"


@with_socket
async def test_a_frame_over_the_size_limit_closes_the_socket_with_1009(socket, settings):
    settings.LIVE_MAX_FRAME_BYTES = 100

    assert await error_code(socket, json.dumps({"type": "ping", "pad": "x" * 100})) == (
        "frame_too_large"
    )
    assert await closing_code(socket) == 1009


@with_socket
async def test_too_many_messages_a_second_close_the_socket_with_1008(socket, settings):
    settings.LIVE_MAX_MESSAGES_PER_SECOND = 3
    for _ in range(3):
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=DEADLINE) == {"type": "pong"}

    assert await error_code(socket, {"type": "ping"}) == "too_many_messages"
    assert await closing_code(socket) == 1008


@with_socket
async def test_a_map_resuming_with_since_is_answered_from_the_relays_memory(socket, inside):
    snapshot = await subscribe(socket)
    seq = await record(inside, "taken")
    await changes(socket)  # the relay has handed the event out
    # Gone from the database (as if pruned): only the relay's memory still holds it.
    await sync_to_async(AvailabilityEvent.objects.all().delete)()

    message = await subscribe(socket, since=snapshot["seq"])

    assert message == {
        "type": "changes",
        "from_seq": snapshot["seq"],
        "seq": seq,
        "taken": [inside.id],
        "freed": [],
        "updated": [],
    }
