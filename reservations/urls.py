from reservations import api
from securemyspot.api import EMAIL_SEGMENT as EMAIL
from securemyspot.api import route

ID = r"(?P<reservation_id>[0-9]{1,16})"
SPOT = r"(?P<spot_id>[0-9]{1,18})"

urlpatterns = [
    route("reservation-auth", api.UserReservationsView.as_view(), name="reservations-live"),
    route(
        "expired-reservations-auth",
        api.UserEndedReservationsView.as_view(),
        name="reservations-ended",
    ),
    route(f"reservation-auth/{SPOT}", api.UserReserveView.as_view(), name="reserve"),
    route(f"reservation-unauth/{SPOT}", api.GuestReserveView.as_view(), name="reserve-guest"),
    route(
        f"reservation-unauth/{ID}/{EMAIL}",
        api.GuestReservationView.as_view(),
        name="reservation-guest",
    ),
    route(f"update-reservation-auth/{ID}", api.UserChangeView.as_view(), name="change"),
    route(
        f"update-reservation-unauth/{ID}/{EMAIL}",
        api.GuestChangeView.as_view(),
        name="change-guest",
    ),
    route(f"delete-reservation-auth/{ID}", api.UserDeleteView.as_view(), name="delete"),
    route(
        f"delete-reservation-unauth/{ID}/{EMAIL}",
        api.GuestDeleteView.as_view(),
        name="delete-guest",
    ),
    route(f"cancel-reservation-auth/{ID}", api.UserCancelView.as_view(), name="cancel"),
    route(
        f"cancel-reservation-unauth/{ID}/{EMAIL}",
        api.GuestCancelView.as_view(),
        name="cancel-guest",
    ),
    route(f"quote/{SPOT}", api.QuoteView.as_view(), name="quote"),
]
