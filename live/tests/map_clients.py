"""What the real-server tests drive the service with, as its users do: a map's WebSocket
(``MapClient``, the ``websockets`` package) and HTTP (``Site``: the API as a guest, the admin as
an operator), against servers the engine fixture starts (reservations/tests/workers.py)."""

import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import suppress
from http.cookiejar import CookieJar

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from live.tests.conftest import MIDTOWN

# Every wait on the servers is bounded; none should take more than a few seconds.
DEADLINE = 10.0


def socket_url(node: str) -> str:
    """The live socket of the socket server at base URL ``node``."""
    return node.replace("http://", "ws://", 1) + "/ws/availability/"


class MapClient:
    """A map on one socket. Every message it reads is checked to follow the one before
    (``from_seq`` equal to the last ``seq``), and the spots it shows (``shown``) are kept as
    a map keeps them: the snapshot's, with each change applied.

    It reads from its socket only when asked for a message (``websockets``' protocol, without
    its I/O): one that stops asking stops reading, as a slow client does. With a small
    ``receive_buffer`` its kernel holds little of what the server writes meanwhile."""

    def __init__(self, url: str, *, receive_buffer: int | None = None) -> None:
        self.url, self.receive_buffer = url, receive_buffer
        self.seq: int | None = None
        self.shown: set[int] = set()
        self.received: list[dict] = []
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        self.socket = socket.socket()
        self.events: list = []  # received, not yet read

    def __enter__(self) -> "MapClient":
        if self.receive_buffer is not None:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        parts = urllib.parse.urlsplit(self.url)
        self.socket.settimeout(DEADLINE)
        self.socket.connect((parts.hostname, parts.port))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.state is State.CONNECTING:
            self.events += self._read_some()
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc
        self.events = [event for event in self.events if not isinstance(event, Response)]
        return self

    def __exit__(self, *exc_info: object) -> None:
        with suppress(OSError):
            self.protocol.send_close()
            self._flush()
        self.socket.close()

    def send(self, message: dict) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def _read_some(self) -> list:
        """Reads what the socket has (waiting for something); the events it made."""
        data = self.socket.recv(65536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        self._flush()  # pongs, close frames
        return self.protocol.events_received()

    def _flush(self) -> None:
        if data := b"".join(self.protocol.data_to_send()):
            self.socket.sendall(data)

    def _next_text(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            while self.events:
                event = self.events.pop(0)
                if isinstance(event, Frame) and event.opcode == Opcode.TEXT:
                    return event.data.decode()
            if self.protocol.state is State.CLOSED:
                raise self.protocol.close_exc
            self.socket.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                self.events = self._read_some()
            except TimeoutError:
                raise TimeoutError(f"no message within {timeout} s") from None

    def subscribe(self, *, bbox: list[float] = MIDTOWN, since: int | None = None) -> dict:
        self.send({"type": "subscribe", "bbox": bbox, "since": since})
        if since is not None:
            self.seq = since
        return self.next()

    def next(self, timeout: float = DEADLINE) -> dict:
        """The next message, within ``timeout`` seconds."""
        message = json.loads(self._next_text(timeout))
        self.received.append(message)
        if message["type"] == "snapshot":
            self.seq, self.shown = message["seq"], {spot["id"] for spot in message["spots"]}
        elif message["type"] == "changes":
            assert message["from_seq"] == self.seq, f"a gap after {self.seq}: {message}"
            self.seq = message["seq"]
            self.shown -= set(message["taken"])
            self.shown |= {spot["id"] for spot in message["freed"]}
        return message

    def next_changes(self, timeout: float = DEADLINE) -> dict:
        message = self.next(timeout)
        assert message["type"] == "changes", message
        return message

    def current_through(self, seq: int) -> None:
        """Reads until it has seen every event up to ``seq``."""
        deadline = time.monotonic() + DEADLINE
        while self.seq is None or self.seq < seq:
            self.next(timeout=max(deadline - time.monotonic(), 0.001))


class Site:
    """The web server at ``base`` as a browser or an API client reaches it, with cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """A JSON request; its status and JSON answer (an empty dict for none)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self.opener.open(request, timeout=DEADLINE) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw else {}
        except ValueError:
            return status, {"body": raw.decode(errors="replace")}

    def book(
        self, spot_id: int, email: str, *, minutes: int = 30, start_time: str | None = None
    ) -> tuple[int, dict]:
        reservation: dict = {"email": email, "reservation_length": minutes}
        if start_time is not None:
            reservation["start_time"] = start_time
        return self.call("POST", f"/reservation-unauth/{spot_id}/", {"reservation": reservation})

    def cancel(self, reservation_id: int, email: str) -> int:
        path = f"/delete-reservation-unauth/{reservation_id}/{urllib.parse.quote(email)}/"
        return self.call("DELETE", path)[0]

    def sign_in_to_admin(self, email: str, password: str) -> None:
        self._form("GET", "/admin/login/")  # for the CSRF cookie
        page = self._form(
            "POST", "/admin/login/", {"username": email, "password": password, "next": "/admin/"}
        )
        assert "Log out" in page or "logout" in page, page[-3000:]

    def admin_action(self, action: str, spot_ids: list[int]) -> str:
        """Runs a spots admin action (``activate``, ``deactivate``) on the spots; the page."""
        fields = [("action", action), ("index", "0")]
        fields += [("_selected_action", str(spot_id)) for spot_id in spot_ids]
        return self._form("POST", "/admin/spots/parkingspot/", fields)

    def admin_edit_spot(self, spot_id: int, **fields: str) -> str:
        """Saves the spot's change form with ``fields`` (every field of the form)."""
        return self._form(
            "POST", f"/admin/spots/parkingspot/{spot_id}/change/", {**fields, "_save": "Save"}
        )

    def _form(self, method: str, path: str, fields: dict | list | None = None) -> str:
        data = None
        if fields is not None:
            pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
            pairs.append(("csrfmiddlewaretoken", self._csrf_token()))
            data = urllib.parse.urlencode(pairs).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        with self.opener.open(request, timeout=DEADLINE) as response:
            page = response.read().decode()
        if errors := re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S):
            raise AssertionError(f"{method} {path} was refused: {errors}")
        return page

    def _csrf_token(self) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")
