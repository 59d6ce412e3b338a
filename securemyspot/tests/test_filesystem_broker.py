"""The embedded default's broker never hands a worker a message that is still being written."""

import os
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from securemyspot import broker

PRINT_THE_TRANSPORT = (
    "from securemyspot.celery import app\n"
    "transport = type(app.connection_for_write().transport)\n"
    "print(f'{transport.__module__}.{transport.__name__}')\n"
)


@pytest.fixture
def channel(tmp_path):
    folders = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection(
        "filesystem://", transport="securemyspot.broker:Transport", transport_options=folders
    ) as connection:
        yield connection.default_channel


def test_a_worker_polling_while_a_message_is_written_finds_nothing_then_all_of_it(
    channel, monkeypatch
):
    seen_while_writing = []
    real_replace = broker.os.replace

    def poll_then_replace(source, destination):
        with suppress(Empty):
            seen_while_writing.append(channel._get("work"))
        real_replace(source, destination)

    monkeypatch.setattr(broker.os, "replace", poll_then_replace)

    channel._put("work", {"body": "hello"})

    assert seen_while_writing == []
    assert channel._get("work") == {"body": "hello"}


def test_the_embedded_default_publishes_through_it():
    # A process of its own: this one's settings may name another broker (CI's second pass).
    shown = subprocess.run(
        [sys.executable, "-c", PRINT_THE_TRANSPORT],
        env={**os.environ, "CELERY_BROKER_URL": "filesystem://"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    assert shown.stdout.split() == ["securemyspot.broker.Transport"]
