from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts import services
from accounts.models import AuthToken, User


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` (keyword in any case) with keys that expire when idle.

    Each use renews the token; one left unused for ``AUTH_TOKEN_IDLE_TIMEOUT_SECONDS`` is
    refused and deleted.
    """

    def authenticate_credentials(self, key: str) -> tuple[User, AuthToken]:
        try:
            return services.authenticate_token(key=key)
        except services.TokenRejected as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
