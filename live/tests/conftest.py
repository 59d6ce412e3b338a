import pytest
from django.db import transaction
from django.utils import timezone

from live import relay
from spots.selectors import current_seq
from spots.services import record_availability_events
from spots.tests.factories import ParkingSpotFactory

# A box around midtown Manhattan, and a spot inside and one outside it, a little east: on a
# tile the box covers (live/relay.py), so only the box keeps it out.
MIDTOWN = [40.74, -74.00, 40.77, -73.97]


@pytest.fixture(autouse=True)
def _in_memory_layer_fast_relay(settings) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.LIVE_POLL_SECONDS = 0.01
    settings.LIVE_BATCH_SECONDS = 0.02


@pytest.fixture
def inside(transactional_db):
    return ParkingSpotFactory(lat="40.758000", lng="-73.985500")


@pytest.fixture
def outside(transactional_db):
    return ParkingSpotFactory(lat="40.765000", lng="-73.965000")


def record_event(spot, kind: str) -> int:
    """What the services write in the change's transaction (the outbox), for tests that need
    an event without the change behind it; its number."""
    with transaction.atomic():
        record_availability_events(spot_ids=[spot.pk], kind=kind, at=timezone.now())
    return current_seq()


def stop_relays() -> None:
    """Cancel the relays a test's sockets started (one per event loop)."""
    for running in relay._relays.values():
        running.task.cancel()
    relay._relays.clear()


async def closing_code(socket, timeout: float = 5.0) -> int:
    """The code the server closes a communicator's socket with (its next message)."""
    message = await socket.receive_output(timeout=timeout)
    assert message["type"] == "websocket.close", message
    return message["code"]
