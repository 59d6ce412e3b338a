from decimal import Decimal

import factory

from spots.models import ParkingSpot

TIMES_SQUARE = (40.758000, -73.985500)


class ParkingSpotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParkingSpot

    lat = Decimal("40.758000")
    lng = Decimal("-73.985500")
    rate = Decimal("4.50")
    active = True
