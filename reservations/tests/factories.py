from datetime import timedelta

import factory
from django.utils import timezone

from reservations.models import Reservation
from spots.tests.factories import ParkingSpotFactory


class ReservationFactory(factory.django.DjangoModelFactory):
    """A guest's unpaid reservation of one hour, starting now."""

    class Meta:
        model = Reservation

    spot = factory.SubFactory(ParkingSpotFactory)
    # Not UserFactory's "driver{n}": a guest's email never is another test's driver's, whose
    # customer the shared localstripe still holds.
    email = factory.Sequence(lambda n: f"guest{n}@example.com")
    rate = factory.LazyAttribute(lambda r: r.spot.rate)
    start_time = factory.LazyFunction(timezone.now)
    end_time = factory.LazyAttribute(lambda r: r.start_time + timedelta(hours=1))
    status = Reservation.Status.PENDING_PAYMENT
    hold_expires_at = factory.LazyAttribute(lambda r: r.start_time + timedelta(minutes=15))

    class Params:
        confirmed = factory.Trait(
            status=Reservation.Status.CONFIRMED,
            hold_expires_at=None,
            confirmed_at=factory.LazyFunction(timezone.now),
            stripe_customer_id="cus_test",
            stripe_setup_intent_id=factory.Sequence(lambda n: f"seti_test_{n}"),
            stripe_payment_method_id="pm_test",
            card_brand="visa",
            card_last4="4242",
        )
