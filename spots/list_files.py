"""The full availability list, kept as a file per fingerprint.

Every client polls the full list, and between two changes of availability it is the same
bytes for everyone. The first request after a change streams it from the database and keeps
a copy on local disk, named after the availability fingerprint; later requests are served
from that file (``sendfile``) until the fingerprint, and so the name, changes. A file is only
ever complete: it is written under a temporary name and renamed into place.
"""

import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

# A list file of an older fingerprint may still be being sent to a slow client; it is removed
# once it is this old (unlinking an open file is safe on POSIX, this just keeps it tidy).
STALE_AFTER_SECONDS = 300


def list_file(fingerprint: str) -> Path:
    folder = Path(settings.SPOT_LIST_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"available-{hashlib.sha256(fingerprint.encode()).hexdigest()[:32]}.json"


def keep_while_streaming(chunks: Iterator[bytes], path: Path) -> Iterator[bytes]:
    """Pass ``chunks`` through, writing them to ``path``; the file appears only if every chunk
    was written (a client hanging up mid-way leaves nothing behind)."""
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    complete = False
    try:
        with partial.open("wb") as file:
            for chunk in chunks:
                file.write(chunk)
                yield chunk
        partial.replace(path)
        complete = True
        _remove_stale_files(keep=path)
    finally:
        if not complete:
            partial.unlink(missing_ok=True)


def _remove_stale_files(*, keep: Path) -> None:
    cutoff = time.time() - STALE_AFTER_SECONDS
    for other in keep.parent.glob("available-*"):
        if other == keep:
            continue
        try:
            modified = other.stat().st_mtime
        except FileNotFoundError:
            # Another request, finishing its own list at the same moment, removed it first.
            continue
        if modified < cutoff:
            other.unlink(missing_ok=True)
