"""The list files of older fingerprints are tidied away, also when two requests tidy at once."""

import os
import time
from pathlib import Path

import pytest

from spots import list_files


def written(chunks: list[bytes], path: Path) -> None:
    for _ in list_files.keep_while_streaming(iter(chunks), path):
        pass


def aged(path: Path, seconds: float) -> Path:
    path.write_bytes(b"[]")
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


@pytest.fixture
def folder() -> Path:
    return list_files.list_file("any").parent


def test_a_new_list_removes_stale_lists_and_keeps_recent_ones(folder):
    stale = aged(folder / "available-stale.json", list_files.STALE_AFTER_SECONDS + 60)
    recent = aged(folder / "available-recent.json", 10)
    current = list_files.list_file("current")

    written([b"[", b"]"], current)

    assert current.read_bytes() == b"[]"
    assert not stale.exists()
    assert recent.exists()


def test_a_list_removed_by_another_request_while_tidying_is_no_error(folder, monkeypatch):
    gone = aged(folder / "available-gone.json", list_files.STALE_AFTER_SECONDS + 60)
    stale = aged(folder / "available-stale.json", list_files.STALE_AFTER_SECONDS + 60)
    current = list_files.list_file("current")
    real_stat = Path.stat

    def stat_after_another_request_removed_it(path: Path, **kwargs):
        # The other request globbed the same folder and unlinked this file between our glob
        # and our stat.
        if path == gone:
            os.unlink(path)
        return real_stat(path, **kwargs)

    monkeypatch.setattr(Path, "stat", stat_after_another_request_removed_it)

    written([b"[]"], current)

    assert current.read_bytes() == b"[]"
    assert not gone.exists()
    assert not stale.exists()
