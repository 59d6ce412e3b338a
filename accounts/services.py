"""Every change to accounts and their sign-in tokens happens here."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import selectors, signals
from accounts.models import AuthToken, User, normalize_email
from securemyspot.errors import DomainError
from securemyspot.links import LinkInvalid, signed_token, signed_value, site_url

EMAIL_TAKEN = "A user with this email already exists."
BAD_CREDENTIALS = "Unable to log in with provided credentials."
WRONG_CURRENT_PASSWORD = "Your current password is incorrect."

# A token's last use is recorded at this granularity, so a burst of requests costs one write,
# not one per request. The idle timeout is hours, so a minute of slack is immaterial.
TOKEN_RENEWAL_INTERVAL = timedelta(minutes=1)


class TokenRejected(Exception):
    """The key does not sign anyone in; the message says why."""


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def sign_up(*, email: str, password: str) -> tuple[User, str]:
    """Create an account and sign it in; returns the user and the new token's key. Unless
    ``EMAIL_VERIFICATION`` is none, the owner is emailed a link confirming the address."""
    user = User(email=normalize_email(email), last_login=timezone.now())
    errors: dict[str, list[str]] = {}
    if selectors.email_is_registered(email=user.email):
        errors["email"] = [EMAIL_TAKEN]
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            key = issue_token(user=user)
            if settings.EMAIL_VERIFICATION != "none":
                request_email_verification(user=user)
    except IntegrityError:
        # Another sign-up for the same email committed after the check above.
        raise ValidationError({"email": [EMAIL_TAKEN]}) from None
    return user, key


def sign_in(*, email: str, password: str) -> tuple[User, str]:
    """Sign in on one more device; the user's other devices stay signed in."""
    # Django's authenticate() spends the time of a password check even for an unknown email,
    # so response times do not reveal which emails have accounts.
    user = authenticate(email=email, password=password)
    if user is None:
        raise ValidationError(BAD_CREDENTIALS)
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        key = issue_token(user=user)
    return user, key


def sign_out(*, token: AuthToken) -> None:
    with transaction.atomic():
        token.delete()


def change_password(
    *, user: User, current_password: str, new_password: str, keep_token: AuthToken
) -> None:
    """Set a new password and sign out every other device of the user."""
    if not user.check_password(current_password):
        raise ValidationError({"password": [WRONG_CURRENT_PASSWORD]})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user.auth_tokens.exclude(pk=keep_token.pk).delete()


def issue_token(*, user: User) -> str:
    """A new token for the user; returns its key, which is stored only as a digest."""
    key = secrets.token_hex(20)
    with transaction.atomic():
        AuthToken.objects.create(user=user, digest=token_digest(key))
    return key


def authenticate_token(*, key: str, now: datetime | None = None) -> tuple[User, AuthToken]:
    """The user and token a key signs in, renewing the token; raises TokenRejected otherwise.

    An expired token is deleted on sight.
    """
    now = now or timezone.now()
    token = check_token(key=key, now=now)
    if now - token.last_used_at >= TOKEN_RENEWAL_INTERVAL:
        with transaction.atomic():
            # Conditional, so concurrent requests never move last_used_at backwards.
            AuthToken.objects.filter(pk=token.pk, last_used_at__lt=now).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def check_token(*, key: str, now: datetime | None = None) -> AuthToken:
    """The token a key signs in (with its user), without renewing it: what a socket that
    signed in with it asks again before sending more, so that an open socket alone does not
    keep a token alive. Raises TokenRejected as ``authenticate_token`` does; an expired token
    is deleted on sight."""
    now = now or timezone.now()
    token = AuthToken.objects.select_related("user").filter(digest=token_digest(key)).first()
    if token is None:
        raise TokenRejected("Invalid token.")
    if token.last_used_at < _expiry_cutoff(now):
        with transaction.atomic():
            token.delete()
        raise TokenRejected("Token has expired.")
    if not token.user.is_active:
        raise TokenRejected("User inactive or deleted.")
    return token


def purge_expired_tokens(*, now: datetime | None = None) -> int:
    """Delete every token idle for longer than the timeout; returns how many went."""
    with transaction.atomic():
        deleted, _ = AuthToken.objects.filter(
            last_used_at__lt=_expiry_cutoff(now or timezone.now())
        ).delete()
    return deleted


def _expiry_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS)


# Email verification (docs/accounts.md, "Email verification"). The link carries the account's
# id and email, signed: it confirms that address of that account only, and a link to an
# address the account no longer has confirms nothing.
VERIFY_EMAIL_PURPOSE = "accounts.verify-email"
VERIFICATION_LINK_MAX_AGE = timedelta(days=3)


class AlreadyVerified(DomainError):
    status_code = 409
    field = "email"

    def __init__(self) -> None:
        super().__init__("Your email address is already confirmed.")


def request_email_verification(*, user: User, now: datetime | None = None) -> None:
    """Email the account's owner a link confirming its address (in the caller's transaction,
    if any: the email is written with it and sent after the commit). Refused once confirmed,
    which with ``EMAIL_VERIFICATION=none`` every account counts as."""
    if selectors.email_is_verified(user=user):
        raise AlreadyVerified
    now = now or timezone.now()
    token = signed_token([user.pk, user.email], purpose=VERIFY_EMAIL_PURPOSE)
    with transaction.atomic():
        signals.email_verification_requested.send(
            User,
            user_id=user.pk,
            email=user.email,
            verify_url=site_url(f"account/verify-email/{token}/"),
            expires_at=now + VERIFICATION_LINK_MAX_AGE,
            now=now,
        )


def verify_email(*, token: str, now: datetime | None = None) -> tuple[User, bool]:
    """Confirm the address a link was sent to; returns the account and whether this call
    confirmed it (False: it was already). Raises as ``link_confirms_nothing_new``."""
    with transaction.atomic():
        user = _account_of_link(token, User.objects.select_for_update())
        if user.email_verified_at is not None:
            return user, False
        _check_link_age(token)
        user.email_verified_at = now or timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user, True


def link_confirms_nothing_new(*, token: str) -> bool:
    """Whether the link's address is confirmed already (True), or the link would confirm it
    (False); changes nothing. Raises ``LinkInvalid`` for a forged or altered link or one to
    an address the account no longer has, ``LinkExpired`` for an old one, unless the address
    was confirmed already: a reused link then says so, however old."""
    user = _account_of_link(token, User.objects.all())
    if user.email_verified_at is not None:
        return True
    _check_link_age(token)
    return False


def _account_of_link(token: str, accounts: QuerySet) -> User:
    value = signed_value(token, purpose=VERIFY_EMAIL_PURPOSE, max_age=None)
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)):
        raise LinkInvalid
    user = accounts.filter(pk=value[0], email=value[1]).first()
    if user is None:
        raise LinkInvalid
    return user


def _check_link_age(token: str) -> None:
    signed_value(token, purpose=VERIFY_EMAIL_PURPOSE, max_age=VERIFICATION_LINK_MAX_AGE)
