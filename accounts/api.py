"""HTTP adapters for sign-up, sign-in, sign-out, password change and email verification."""

from django.conf import settings
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
from accounts.selectors import email_is_verified
from accounts.serializers import (
    ChangePasswordCredentialsSerializer,
    ChangePasswordSerializer,
    ErrorDetailSerializer,
    MeSerializer,
    SessionSerializer,
    SignInCredentialsSerializer,
    SignInSerializer,
    SignUpCredentialsSerializer,
    SignUpSerializer,
)
from accounts.throttles import ResendVerificationThrottle, SignInThrottle, SignUpThrottle
from securemyspot.api import unwrap


def _credentials(request: Request, serializer_class: type[Serializer]) -> dict:
    serializer = serializer_class(data=unwrap(request.data, "credentials"))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _session(user: User, key: str) -> Response:
    body = SessionSerializer(
        {"email": user.email, "token": key, "email_verified": email_is_verified(user=user)}
    ).data
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


@extend_schema(
    tags=["accounts"],
    summary="Who is signed in",
    description=(
        "The account's email, whether it is confirmed, and the service's "
        "`EMAIL_VERIFICATION` setting (with `mandatory`, an unconfirmed account cannot book: "
        '403 `{"email_unverified": [...]}`).'
    ),
    responses={200: MeSerializer, 401: UNAUTHENTICATED},
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request: Request) -> Response:
    user = request.user
    body = {
        "email": user.email,
        "email_verified": email_is_verified(user=user),
        "email_verification": settings.EMAIL_VERIFICATION,
    }
    return Response(MeSerializer(body).data)


@extend_schema(
    tags=["accounts"],
    summary="Email a new verification link",
    description=(
        "Sends a new link confirming the account's address (older links keep working until "
        'they expire). Already confirmed, or verification off: 409 `{"email": [...]}`. '
        "Limited per account (429 with Retry-After)."
    ),
    request=None,
    responses={
        202: ErrorDetailSerializer,
        401: UNAUTHENTICATED,
        409: VALIDATION_ERRORS,
        429: THROTTLED,
    },
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes([ResendVerificationThrottle])
def resend_verification(request: Request) -> Response:
    services.request_email_verification(user=request.user)
    return Response(
        {"detail": f"We sent a new link to {request.user.email}."},
        status=status.HTTP_202_ACCEPTED,
    )
