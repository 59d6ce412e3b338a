"""HTTP adapters for reservations: signed-in users reach their own, guests theirs by email."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from accounts.throttles import AddressRateThrottle
from reservations import selectors, services
from reservations.models import Reservation
from reservations.serializers import (
    NewGuestReservationSerializer,
    NewReservationSerializer,
    QuoteParamsSerializer,
    QuoteSerializer,
    ReservationChangeSerializer,
    ReservationSerializer,
    reservation_json,
    validated_data,
)
from securemyspot.api import client_address, unwrap

ERRORS = {
    400: OpenApiResponse(description='Invalid input: `{"<field>": ["message"]}`.'),
    404: OpenApiResponse(description='`{"detail": "Not found."}`'),
}
AUTH_ERRORS = {**ERRORS, 401: OpenApiResponse(description="Missing, invalid or expired token.")}
TOO_MANY_HOLDS = OpenApiResponse(
    description=(
        "Too many unpaid holds for this email (account) or address, or too many guest "
        "bookings from this address; the Retry-After header says when to retry."
    )
)


class GuestBookingThrottle(AddressRateThrottle):
    scope = "guest-booking"


def _envelope(name: str, inner: type[Serializer]) -> Serializer:
    return inline_serializer(name, {"reservation": inner()})


def _reservation_body(request: Request, serializer_class: type[Serializer]) -> dict:
    return validated_data(serializer_class, unwrap(request.data, "reservation"))


def _rendered(reservation: Reservation, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(reservation_json(reservation), status=status_code)


class SignedInView(APIView):
    permission_classes = [IsAuthenticated]


class GuestView(APIView):
    # Guests are known by reservation id and email; a token, if sent, plays no part.
    authentication_classes: list = []
    permission_classes = [AllowAny]


class UserReservationsView(SignedInView):
    @extend_schema(
        tags=["reservations"],
        summary="Your live reservations",
        description="Not yet ended (pending payment or confirmed), newest first.",
        responses={200: ReservationSerializer(many=True), 401: AUTH_ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        reservations = selectors.live_reservations_of_user(user=request.user)
        return Response([reservation_json(reservation) for reservation in reservations])


class UserEndedReservationsView(SignedInView):
    @extend_schema(
        tags=["reservations"],
        summary="Your ended reservations",
        description="Ended by time or by you, cancelled, or lapsed unpaid; newest first.",
        responses={200: ReservationSerializer(many=True), 401: AUTH_ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        reservations = selectors.ended_reservations_of_user(user=request.user)
        return Response([reservation_json(reservation) for reservation in reservations])


class UserReserveView(SignedInView):
    @extend_schema(
        tags=["reservations"],
        summary="Reserve a spot",
        description=(
            "Holds the spot from now (or `start_time`) for `reservation_length` minutes, "
            "pending payment: set up the card with create-payment-intent within the hold "
            'period. Taken: 400 `{"parking_spot": ["This parking spot is already reserved"]}`.'
        ),
        request=_envelope("NewReservationEnvelope", NewReservationSerializer),
        responses={201: ReservationSerializer, **AUTH_ERRORS, 429: TOO_MANY_HOLDS},
    )
    def post(self, request: Request, spot_id: str) -> Response:
        body = _reservation_body(request, NewReservationSerializer)
        reservation = services.reserve_spot(
            spot_id=int(spot_id),
            user=request.user,
            minutes=body["reservation_length"],
            start_time=body.get("start_time"),
            client_address=client_address(request),
        )
        return _rendered(reservation, status.HTTP_201_CREATED)


class GuestReserveView(GuestView):
    throttle_classes = [GuestBookingThrottle]

    @extend_schema(
        tags=["reservations"],
        summary="Reserve a spot as a guest",
        description=(
            "As for a signed-in user, with the guest's `email`, which may not belong to an account."
        ),
        request=_envelope("NewGuestReservationEnvelope", NewGuestReservationSerializer),
        responses={201: ReservationSerializer, **ERRORS, 429: TOO_MANY_HOLDS},
    )
    def post(self, request: Request, spot_id: str) -> Response:
        body = _reservation_body(request, NewGuestReservationSerializer)
        reservation = services.reserve_spot(
            spot_id=int(spot_id),
            user=None,
            email=body["email"],
            minutes=body["reservation_length"],
            start_time=body.get("start_time"),
            client_address=client_address(request),
        )
        return _rendered(reservation, status.HTTP_201_CREATED)


class GuestReservationView(GuestView):
    @extend_schema(
        tags=["reservations"],
        summary="A guest's reservation",
        responses={200: ReservationSerializer, 404: ERRORS[404]},
    )
    def get(self, request: Request, reservation_id: str, email: str) -> Response:
        return _rendered(
            selectors.reservation_of_guest(email=email, reservation_id=int(reservation_id))
        )


CHANGE_DESCRIPTION = (
    "`end_time` now or earlier ends the reservation now; later extends it (only into free "
    "time) or shortens it. Not before the start, at most 24 hours after it, and not once "
    "ended."
)


class UserChangeView(SignedInView):
    @extend_schema(
        tags=["reservations"],
        summary="Change the end of your reservation",
        description=CHANGE_DESCRIPTION,
        request=_envelope("ReservationChangeEnvelope", ReservationChangeSerializer),
        responses={200: ReservationSerializer, **AUTH_ERRORS},
    )
    def patch(self, request: Request, reservation_id: str) -> Response:
        body = _reservation_body(request, ReservationChangeSerializer)
        reservation = selectors.reservation_of_user(
            user=request.user, reservation_id=int(reservation_id)
        )
        return _rendered(
            services.change_end_time(reservation_id=reservation.pk, end_time=body["end_time"])
        )


class GuestChangeView(GuestView):
    @extend_schema(
        tags=["reservations"],
        summary="Change the end of a guest's reservation",
        description=CHANGE_DESCRIPTION,
        request=_envelope("GuestReservationChangeEnvelope", ReservationChangeSerializer),
        responses={200: ReservationSerializer, **ERRORS},
    )
    def patch(self, request: Request, reservation_id: str, email: str) -> Response:
        body = _reservation_body(request, ReservationChangeSerializer)
        reservation = selectors.reservation_of_guest(
            email=email, reservation_id=int(reservation_id)
        )
        return _rendered(
            services.change_end_time(reservation_id=reservation.pk, end_time=body["end_time"])
        )


DELETE_DESCRIPTION = (
    "Cancels a reservation not yet paid for (the spot is free at once), or ends a confirmed "
    "one now, for the time used."
)


class UserDeleteView(SignedInView):
    @extend_schema(
        tags=["reservations"],
        summary="Cancel or end your reservation",
        description=DELETE_DESCRIPTION,
        responses={204: None, **AUTH_ERRORS},
    )
    def delete(self, request: Request, reservation_id: str) -> Response:
        reservation = selectors.reservation_of_user(
            user=request.user, reservation_id=int(reservation_id)
        )
        services.end_or_cancel(reservation_id=reservation.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GuestDeleteView(GuestView):
    @extend_schema(
        tags=["reservations"],
        summary="Cancel or end a guest's reservation",
        description=DELETE_DESCRIPTION,
        responses={204: None, **ERRORS},
    )
    def delete(self, request: Request, reservation_id: str, email: str) -> Response:
        reservation = selectors.reservation_of_guest(
            email=email, reservation_id=int(reservation_id)
        )
        services.end_or_cancel(reservation_id=reservation.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


CANCEL_DESCRIPTION = (
    "Cancels a booking made ahead, before its start time, free: nothing is charged and the "
    'driver gets a "Reservation Cancelled" email. Already started: 409 `{"reservation": ["It '
    'has already started: end it instead."]}` (end it with the delete route, for the time '
    "used); ended, cancelled or lapsed: 409 naming `reservation` too."
)
NOT_CANCELLABLE = OpenApiResponse(
    description='Started, ended or cancelled already: `{"reservation": ["<why>"]}`.'
)


class UserCancelView(SignedInView):
    @extend_schema(
        tags=["reservations"],
        summary="Cancel your booking before it starts",
        description=CANCEL_DESCRIPTION,
        request=None,
        responses={200: ReservationSerializer, **AUTH_ERRORS, 409: NOT_CANCELLABLE},
    )
    def post(self, request: Request, reservation_id: str) -> Response:
        reservation = selectors.reservation_of_user(
            user=request.user, reservation_id=int(reservation_id)
        )
        return _rendered(services.cancel_advance_booking(reservation_id=reservation.pk))


class GuestCancelView(GuestView):
    @extend_schema(
        tags=["reservations"],
        summary="Cancel a guest's booking before it starts",
        description=CANCEL_DESCRIPTION,
        request=None,
        responses={200: ReservationSerializer, **ERRORS, 409: NOT_CANCELLABLE},
    )
    def post(self, request: Request, reservation_id: str, email: str) -> Response:
        reservation = selectors.reservation_of_guest(
            email=email, reservation_id=int(reservation_id)
        )
        return _rendered(services.cancel_advance_booking(reservation_id=reservation.pk))


class QuoteView(GuestView):
    @extend_schema(
        tags=["reservations"],
        summary="Price of a reservation before booking",
        parameters=[QuoteParamsSerializer],
        responses={200: QuoteSerializer, **ERRORS},
    )
    def get(self, request: Request, spot_id: str) -> Response:
        params = QuoteParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        spot, fee = selectors.quote(spot_id=int(spot_id), minutes=params.validated_data["minutes"])
        body = {
            "parking_spot": spot.pk,
            "minutes": fee.minutes,
            "rate": spot.rate,
            "amount_cents": fee.amount_cents,
            "currency": fee.currency,
            "fee_waived": fee.waived,
            "lat": spot.lat,
            "lng": spot.lng,
        }
        return Response(QuoteSerializer(body).data)
