"""A RabbitMQ virtual host and a Redis database of the benchmark's own, for a Celery worker.

Other Celery processes on the machine (a test run, ``make run``) share the broker's default
virtual host and its ``celery`` queue; a worker there would take their tasks and they ours. A
scratch virtual host holds every queue and exchange of the run and is deleted with them at the
end. ``rabbitmqctl`` makes it, so the benchmark runs on the broker's machine.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from bench.stats import say

RABBITMQ_URL = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")
RABBITMQ_USER = os.environ.get("BENCH_RABBITMQ_USER", "guest")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
RABBITMQCTL_TIMEOUT_S = 60


@dataclass(frozen=True)
class Broker:
    celery_broker_url: str
    redis_url: str


@contextmanager
def scratch_broker(name: str) -> Iterator[Broker]:
    """The virtual host ``name``, made afresh, and the bench's Redis database, emptied; both
    cleared again on leaving."""
    _rabbitmqctl("delete_vhost", name, check=False)
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, RABBITMQ_USER, ".*", ".*", ".*")
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    say(f"RabbitMQ virtual host {name}; Redis {REDIS_URL} emptied")
    try:
        yield Broker(celery_broker_url=f"{RABBITMQ_URL}/{name}", redis_url=REDIS_URL)
    finally:
        _rabbitmqctl("delete_vhost", name, check=False)
        cache.flushdb()
        cache.close()


def _rabbitmqctl(*arguments: str, check: bool = True) -> str:
    done = subprocess.run(
        ["rabbitmqctl", *arguments],
        capture_output=True,
        text=True,
        timeout=RABBITMQCTL_TIMEOUT_S,
        check=False,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(arguments)}: {done.stderr.strip()}")
    return done.stdout
