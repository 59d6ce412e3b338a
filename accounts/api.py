"""HTTP adapters for sign-up, sign-in, sign-out and password change."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from accounts import services
from accounts.models import User
from accounts.schema import THROTTLED, UNAUTHENTICATED, VALIDATION_ERRORS
from accounts.serializers import (
    ChangePasswordCredentialsSerializer,
    ChangePasswordSerializer,
    SessionSerializer,
    SignInCredentialsSerializer,
    SignInSerializer,
    SignUpCredentialsSerializer,
    SignUpSerializer,
)
from accounts.throttles import SignInThrottle, SignUpThrottle
from securemyspot.api import unwrap


def _credentials(request: Request, serializer_class: type[Serializer]) -> dict:
    serializer = serializer_class(data=unwrap(request.data, "credentials"))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _session(user: User, key: str) -> Response:
    body = SessionSerializer({"email": user.email, "token": key}).data
    return Response(body, status=status.HTTP_201_CREATED)


# Sign-up and sign-in read no token: a stale one left in the client must not block signing in.
@extend_schema(
    tags=["accounts"],
    summary="Create an account",
    description=(
        "Creates the account and signs it in, returning a token for this device. Passwords "
        'that differ: 400 `{"password_error": ["Passwords do not match"]}`.'
    ),
    request=SignUpSerializer,
    responses={201: SessionSerializer, 400: VALIDATION_ERRORS, 429: THROTTLED},
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([SignUpThrottle])
def sign_up(request: Request) -> Response:
    credentials = _credentials(request, SignUpCredentialsSerializer)
    user, key = services.sign_up(email=credentials["email"], password=credentials["password"])
    return _session(user, key)


@extend_schema(
    tags=["accounts"],
    summary="Sign in",
    description=(
        "Returns a new token for this device. Devices signed in earlier stay signed in. "
        'Wrong email or password: 400 `{"non_field_errors": [...]}`.'
    ),
    request=SignInSerializer,
    responses={201: SessionSerializer, 400: VALIDATION_ERRORS, 429: THROTTLED},
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([SignInThrottle])
def sign_in(request: Request) -> Response:
    credentials = _credentials(request, SignInCredentialsSerializer)
    user, key = services.sign_in(email=credentials["email"], password=credentials["password"])
    return _session(user, key)


@extend_schema(
    tags=["accounts"],
    summary="Sign out",
    description="Revokes the token this request carries; other devices stay signed in.",
    request=None,
    responses={204: None, 401: UNAUTHENTICATED},
)
@api_view(["DELETE"])
@permission_classes([IsAuthenticated])
def sign_out(request: Request) -> Response:
    services.sign_out(token=request.auth)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["accounts"],
    summary="Change password",
    description=(
        "Checks the caller's current password, sets the new one and signs out every other "
        "device. The token this request carries stays valid. An `email` key in the body is "
        'ignored. New passwords that differ: 400 `{"password_error": [...]}`.'
    ),
    request=ChangePasswordSerializer,
    responses={204: None, 400: VALIDATION_ERRORS, 401: UNAUTHENTICATED},
)
@api_view(["PATCH"])
@permission_classes([IsAuthenticated])
def change_password(request: Request) -> Response:
    credentials = _credentials(request, ChangePasswordCredentialsSerializer)
    services.change_password(
        user=request.user,
        current_password=credentials["password"],
        new_password=credentials["new_password"],
        keep_token=request.auth,
    )
    return Response(status=status.HTTP_204_NO_CONTENT)
