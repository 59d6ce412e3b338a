from securemyspot.api import route
from spots.api import AvailableParkingSpotsNearView, AvailableParkingSpotsView

urlpatterns = [
    route(
        "available-parking-spots",
        AvailableParkingSpotsView.as_view(),
        name="available-parking-spots",
    ),
    route(
        "available-parking-spots-filter",
        AvailableParkingSpotsNearView.as_view(),
        name="available-parking-spots-filter",
    ),
]
