"""Reads about accounts that other apps rely on."""

from accounts.models import User, normalize_email


def email_is_registered(*, email: str) -> bool:
    """Whether an account uses this email, in any letter case."""
    return User.objects.filter(email=normalize_email(email)).exists()
