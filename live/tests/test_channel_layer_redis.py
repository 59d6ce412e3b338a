"""The Redis channel layer as the project's settings configure it, against the configured
Redis (runs where REDIS_URL is set: .ci/run's second pass)."""

import asyncio

from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer

from reservations.tests.workers import unavailable
from securemyspot import settings as project_settings


def test_a_socket_idle_past_the_layers_blocking_receive_keeps_waiting():
    """A socket's receive from the layer outlasts one blocking read of Redis (5 s) with no
    message: the read starts again, it does not fail (which would close the socket)."""
    if not project_settings.REDIS_URL:
        unavailable("needs Redis (REDIS_URL) for the channel layer")
    # These tests' conftest swaps in the in-memory layer: this one is built as settings say.
    layer = RedisChannelLayer(**project_settings.CHANNEL_LAYERS["default"]["CONFIG"])

    async def idle_receive() -> str:
        channel = await layer.new_channel()
        try:
            await asyncio.wait_for(layer.receive(channel), layer.brpop_timeout + 2)
        except TimeoutError:
            return "still waiting"
        finally:
            await layer.flush()
        return "received"

    assert async_to_sync(idle_receive)() == "still waiting"
