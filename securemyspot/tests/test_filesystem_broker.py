"""The embedded default's broker never hands a worker a message that is still being written."""

from contextlib import suppress
from queue import Empty

import pytest
from kombu import Connection

from securemyspot import broker
from securemyspot.celery import app


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


def test_the_project_celery_app_uses_it_on_the_filesystem_broker(settings):
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("this pass runs on another broker (CELERY_BROKER_URL)")
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
