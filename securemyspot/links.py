"""Links in emails that act with no password: a value (a reservation's id, an account's id and
email) signed for one purpose (the salt), so a link opens that page for that value and nothing
else, and cannot be forged or altered."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import Http404


class LinkExpired(Exception):
    """The link was genuine but is older than its purpose allows."""


class LinkInvalid(Exception):
    """The link was forged or altered, or signed for another purpose."""


def signed_token(value: int | list, *, purpose: str) -> str:
    return signing.dumps(value, salt=purpose)


def signed_value(token: str, *, purpose: str, max_age: timedelta | None) -> object:
    """What a token was signed for; ``LinkExpired`` (never with ``max_age`` None) or
    ``LinkInvalid`` otherwise."""
    try:
        return signing.loads(token, salt=purpose, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None


def reservation_id_from(token: str, *, purpose: str, max_age: timedelta) -> int:
    """The reservation a token was signed for; 404 for a forged, altered or expired one."""
    try:
        reservation_id = signed_value(token, purpose=purpose, max_age=max_age)
    except (LinkExpired, LinkInvalid):
        raise Http404 from None
    if not isinstance(reservation_id, int):
        raise Http404
    return reservation_id


def site_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/{path.lstrip('/')}"
