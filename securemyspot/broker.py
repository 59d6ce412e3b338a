"""The embedded default's Celery broker: kombu's filesystem transport, publishing atomically.

kombu creates a message's file in the queue folder under its final name and only then writes
it, so a worker polling the folder can take the file while it is still empty and stop with
"Unrecoverable error: JSONDecodeError" (a test failed so under CPU load). Here a message is
written under a name no consumer reads (it must end in ``.<queue>.msg``) and renamed into place
once complete, as the spot list files are.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        # Named as kombu names them: consumers take messages in the order of their names.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        complete = os.path.join(self.data_folder_out, name)
        partial = f"{complete}.part"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, complete)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {complete!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
