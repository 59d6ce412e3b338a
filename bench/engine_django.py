"""The engine benchmark's parts that run inside Django, in a ``DjangoProcess`` child: the
reservations it ends, with their saved cards, and its calls to localstripe through the
project's own Stripe gateway.

Only that child imports this module (Django is set up there alone), so the functions here take
and return plain data.
"""

import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from payments.gateways import StripeGateway
from payments.gateways.sandbox import TEST_CARDS
from payments.models import SandboxCustomer, SandboxPaymentMethod
from payments.tests.fake_stripe import FakeStripe
from reservations.models import Reservation
from reservations.pricing import fee_for_minutes
from spots.models import ParkingSpot

GOOD_CARD = "4242424242424242"  # a test card that saves and charges without trouble
BATCH_SIZE = 1000

SavedCard = tuple[str, str]  # (customer id, payment method id)


def insert_confirmed_reservations(
    *,
    spot_ids: Sequence[int],
    ends: Sequence[datetime],
    minutes: Sequence[int],
    cards: Sequence[SavedCard] | None,
) -> int:
    """Confirmed reservations of the spots, one each, ``minutes[i]`` long up to ``ends[i]``,
    as the card step leaves them: with a customer and a saved card, at localstripe (``cards``)
    or, when ``cards`` is None, made here in the sandbox gateway's tables."""
    card = TEST_CARDS[GOOD_CARD]
    if cards is None:
        cards = _sandbox_cards(len(spot_ids))
    rates = dict(ParkingSpot.objects.filter(pk__in=spot_ids).values_list("pk", "rate"))
    confirmed_at = timezone.now()
    reservations = [
        Reservation(
            email=f"driver-{index}@bench.test",
            spot_id=spot_id,
            rate=rates[spot_id],
            start_time=end - timedelta(minutes=length),
            end_time=end,
            status=Reservation.Status.CONFIRMED,
            confirmed_at=confirmed_at,
            stripe_customer_id=customer_id,
            stripe_payment_method_id=payment_method_id,
            card_brand=card.brand,
            card_last4=GOOD_CARD[-4:],
            # Reminded of the end a quarter of an hour before, as the reminder sweep would
            # have done for a reservation booked earlier: only the end is measured.
            reminded_for_end_time=end,
        )
        for index, (spot_id, end, length, (customer_id, payment_method_id)) in enumerate(
            zip(spot_ids, ends, minutes, cards, strict=True)
        )
    ]
    Reservation.objects.bulk_create(reservations, batch_size=BATCH_SIZE)
    return len(reservations)


def _sandbox_cards(count: int) -> list[SavedCard]:
    card = TEST_CARDS[GOOD_CARD]
    customers = [
        SandboxCustomer(id=f"cus_sandbox_bench_{index}", email=f"driver-{index}@bench.test")
        for index in range(count)
    ]
    methods = [
        SandboxPaymentMethod(
            id=f"pm_sandbox_bench_{index}",
            brand=card.brand,
            last4=GOOD_CARD[-4:],
            charge_outcome=card.charge_outcome,
        )
        for index in range(count)
    ]
    with transaction.atomic():
        SandboxCustomer.objects.bulk_create(customers, batch_size=BATCH_SIZE)
        SandboxPaymentMethod.objects.bulk_create(methods, batch_size=BATCH_SIZE)
    return [(customer.id, method.id) for customer, method in zip(customers, methods, strict=True)]


def chargeable_fees(*, spot_ids: Sequence[int], minutes: Sequence[int]) -> list[int]:
    """The fees, in cents, of reservations of the spots ``minutes`` long that are charged (not
    waived under the minimum), as the engine prices them."""
    rates = dict(ParkingSpot.objects.filter(pk__in=spot_ids).values_list("pk", "rate"))
    fees = (
        fee_for_minutes(rates[spot_id], length)
        for spot_id, length in zip(spot_ids, minutes, strict=True)
    )
    return [fee.amount_cents for fee in fees if not fee.waived]


def saved_cards_at_stripe(api_base: str, count: int, label: str) -> list[SavedCard]:
    """``count`` customers at localstripe, each with a card saved for off-session charges, as
    the card step leaves them (and as the payments tests make them)."""
    stripe = FakeStripe(api_base)
    return [stripe.saved_card(f"{label}-{index}@bench.test", GOOD_CARD) for index in range(count)]


def charge_saved_cards(
    api_base: str, cards: Sequence[SavedCard], amounts: Sequence[int]
) -> tuple[list[float], int]:
    """Charge each card its amount off-session, one after the other, through the project's
    Stripe gateway (the call the engine makes, on the SDK): each call's seconds, and how many
    succeeded."""
    gateway = StripeGateway(secret_key="sk_test_bench", webhook_secret="", api_base=api_base)
    latencies, succeeded = [], 0
    for index, ((customer_id, payment_method_id), amount) in enumerate(
        zip(cards, amounts, strict=True)
    ):
        started = time.perf_counter()
        intent = gateway.charge_off_session(
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            amount_cents=amount,
            currency="usd",
            idempotency_key=f"bench-ceiling-{index}",
            metadata={"charge_id": f"ceiling-{index}", "attempt": "1"},
        )
        latencies.append(time.perf_counter() - started)
        succeeded += intent.status == "succeeded"
    return latencies, succeeded


def payment_intents_per_charge(api_base: str) -> dict[str, int]:
    """Every PaymentIntent at localstripe, counted by the charge its metadata names."""
    stripe = FakeStripe(api_base)
    every = stripe.client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return dict(Counter(intent.metadata.to_dict().get("charge_id", "") for intent in every))
