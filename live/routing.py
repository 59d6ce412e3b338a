from django.urls import path

from live.consumers import AvailabilityConsumer, ReservationsConsumer

websocket_urlpatterns = [
    path("ws/availability/", AvailabilityConsumer.as_asgi()),
    path("ws/reservations/", ReservationsConsumer.as_asgi()),
]
