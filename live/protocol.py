"""The client's side of /ws/availability/ and /ws/reservations/: each frame checked, or a
``ProtocolError`` naming what is wrong (docs/live.md lists the codes)."""

import json
import math
from dataclasses import dataclass

from live.selectors import Box
from reservations.models import MAX_RESERVATION_ID
from reservations.serializers import GUEST_EMAIL_MAX_LENGTH

# Close codes (RFC 6455): a policy broken, a frame too big.
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, *, close_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code

    def as_message(self) -> dict:
        return {"type": "error", "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Subscribe:
    box: Box
    since: int | None


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Authenticate:
    """A signed-in user's ``token``, or a guest's ``reservation_id`` and ``email``."""

    token: str | None = None
    reservation_id: int | None = None
    email: str | None = None
    since: int | None = None


# Far longer than the API's tokens (40 hex digits): a longer one is not a token.
MAX_TOKEN_LENGTH = 256


def parse(text: str | None, *, max_bytes: int, max_box_degrees: float) -> Subscribe | Ping:
    """A frame of /ws/availability/."""
    message = _message(text, max_bytes=max_bytes)
    if message["type"] == "ping":
        return Ping()
    if message["type"] == "subscribe":
        return Subscribe(
            box=_box(message.get("bbox"), max_box_degrees), since=_since(message.get("since"))
        )
    raise ProtocolError(
        "unknown_type", f'Unknown type {message["type"][:40]!r}: send "subscribe" or "ping".'
    )


def parse_reservations_frame(text: str | None, *, max_bytes: int) -> Authenticate | Ping:
    """A frame of /ws/reservations/."""
    message = _message(text, max_bytes=max_bytes)
    if message["type"] == "ping":
        return Ping()
    if message["type"] == "authenticate":
        return _authenticate(message)
    raise ProtocolError(
        "unknown_type", f'Unknown type {message["type"][:40]!r}: send "authenticate" or "ping".'
    )


def _message(text: str | None, *, max_bytes: int) -> dict:
    """The frame as a JSON object with a string ``type``."""
    if text is None:
        raise ProtocolError("not_text", "Send JSON text frames, not binary ones.")
    if len(text.encode()) > max_bytes:
        raise ProtocolError(
            "frame_too_large",
            f"A frame may hold at most {max_bytes} bytes.",
            close_code=MESSAGE_TOO_BIG,
        )
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError("not_json", "The frame is not JSON.") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("bad_message", 'Send a JSON object with a "type".')
    return message


def _authenticate(message: dict) -> Authenticate:
    since = _since(message.get("since"))
    token, reservation, email = (message.get(key) for key in ("token", "reservation", "email"))
    if token is not None:
        if reservation is not None or email is not None:
            raise ProtocolError(
                "bad_message", 'Send either "token", or "reservation" and "email", not both.'
            )
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
            raise ProtocolError("bad_message", '"token" must be the API token, a string.')
        return Authenticate(token=token, since=since)
    if not _is_whole_number(reservation) or not 0 < reservation <= MAX_RESERVATION_ID:
        raise ProtocolError(
            "bad_message",
            'Send "token" (a signed-in user) or "reservation" (a guest\'s reservation id, a '
            'whole number) with "email".',
        )
    if not isinstance(email, str) or not 0 < len(email) <= GUEST_EMAIL_MAX_LENGTH:
        raise ProtocolError("bad_message", '"email" must be the guest\'s email, a string.')
    return Authenticate(reservation_id=reservation, email=email, since=since)


def _is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _box(bbox: object, max_degrees: float) -> Box:
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(map(_is_number, bbox)):
        raise ProtocolError("bad_bbox", '"bbox" must be four numbers: [south, west, north, east].')
    south, west, north, east = (float(value) for value in bbox)
    if not (-90 <= south <= north <= 90):
        raise ProtocolError(
            "bad_bbox", '"bbox": need -90 <= south <= north <= 90 (degrees of latitude).'
        )
    if not (-180 <= west <= east <= 180):
        raise ProtocolError(
            "bad_bbox", '"bbox": need -180 <= west <= east <= 180 (degrees of longitude).'
        )
    if north - south > max_degrees or east - west > max_degrees:
        raise ProtocolError(
            "bbox_too_large", f'"bbox" may span at most {max_degrees:g} degrees each way.'
        )
    return Box(south=south, west=west, north=north, east=east)


def _since(since: object) -> int | None:
    if since is None:
        return None
    if not _is_whole_number(since) or since < 0:
        raise ProtocolError("bad_since", '"since" must be null or a seq (a whole number >= 0).')
    return since
