"""Who a /ws/reservations/ socket streams for: a signed-in user by their API token, or a guest
by reservation id and email, under the rules of the HTTP routes."""

from django.http import Http404

from accounts.services import TokenRejected, authenticate_token, check_token
from live.protocol import Authenticate, ProtocolError
from reservations.selectors import StreamOwner, reservation_of_guest

# The same answer for an unknown id, a wrong email and an account's reservation, as the guest
# routes' 404: nothing tells which one it was.
UNKNOWN_GUEST_RESERVATION = "No guest reservation has this id and email."


def stream_owner(message: Authenticate) -> StreamOwner:
    """The owner the message signs in, or ``not_authenticated``. A token is used (and
    renewed) as an API request would."""
    if message.token is not None:
        try:
            user, _ = authenticate_token(key=message.token)
        except TokenRejected as rejected:
            raise ProtocolError("not_authenticated", str(rejected)) from None
        return StreamOwner(user_id=user.pk)
    try:
        reservation = reservation_of_guest(
            email=message.email, reservation_id=message.reservation_id
        )
    except Http404:
        raise ProtocolError("not_authenticated", UNKNOWN_GUEST_RESERVATION) from None
    return StreamOwner(guest_reservation_id=reservation.pk)


def token_still_valid(token: str) -> bool:
    """Whether the token still signs its user in (not expired, not signed out), without
    renewing it: an open socket alone keeps no token alive."""
    try:
        check_token(key=token)
    except TokenRejected:
        return False
    return True
