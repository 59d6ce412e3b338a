from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reservations import services, tasks
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def confirmed(start: datetime, minutes: int, **fields) -> Reservation:
    return ReservationFactory(
        confirmed=True, start_time=start, end_time=start + timedelta(minutes=minutes), **fields
    )


class TestSweep:
    def test_ends_confirmed_reservations_whose_end_has_passed(self):
        now = timezone.now()
        due = confirmed(now - timedelta(minutes=90), 60, rate=Decimal("6.00"))
        running = confirmed(now - timedelta(minutes=10), 60)
        unpaid = ReservationFactory(start_time=now - timedelta(minutes=90))

        ended = services.end_due_reservations(now=now)

        assert ended == [due.id]
        due.refresh_from_db()
        assert due.status == Reservation.Status.ENDED
        assert due.amount_cents == 600
        assert due.finished_at == now
        assert Reservation.objects.get(pk=running.pk).status == Reservation.Status.CONFIRMED
        assert Reservation.objects.get(pk=unpaid.pk).status == Reservation.Status.PENDING_PAYMENT

    def test_running_again_ends_nothing_more(self):
        now = timezone.now()
        confirmed(now - timedelta(minutes=90), 60)
        services.end_due_reservations(now=now)

        assert services.end_due_reservations(now=now) == []

    def test_works_through_every_batch(self):
        now = timezone.now()
        for offset in range(5):
            confirmed(now - timedelta(hours=2, minutes=offset), 30)

        first = services.end_due_reservations(now=now, batch_size=2)

        assert len(first) == 2
        assert tasks.end_due_reservations() == 3
        assert not Reservation.objects.filter(status=Reservation.Status.CONFIRMED).exists()

    def test_a_reservation_across_the_night_clocks_fall_back_pays_its_real_minutes(self):
        # 01:00 EDT (05:00Z) to 03:00 EST (08:00Z) on 2026-11-01: three real hours.
        start = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
        reservation = confirmed(start, 180, rate=Decimal("4.00"))

        services.end_due_reservations(now=start + timedelta(hours=4))

        reservation.refresh_from_db()
        assert reservation.amount_cents == 1200


class TestTaskAtTheEnd:
    def test_ends_a_reservation_that_is_due(self):
        now = timezone.now()
        reservation = confirmed(now - timedelta(minutes=31), 30)

        assert services.end_reservation_if_due(reservation_id=reservation.id, now=now)
        reservation.refresh_from_db()
        assert reservation.status == Reservation.Status.ENDED

    def test_does_nothing_when_the_end_moved_later(self):
        now = timezone.now()
        reservation = confirmed(now - timedelta(minutes=20), 30)
        services.change_end_time(
            reservation_id=reservation.id, end_time=now + timedelta(hours=1), now=now
        )

        # The task queued for the old end time arrives.
        assert not services.end_reservation_if_due(
            reservation_id=reservation.id, now=now + timedelta(minutes=11)
        )
        reservation.refresh_from_db()
        assert reservation.status == Reservation.Status.CONFIRMED

    def test_a_shortened_reservation_ends_at_its_new_end(self):
        now = timezone.now()
        reservation = confirmed(now - timedelta(minutes=20), 60, rate=Decimal("6.00"))
        services.change_end_time(
            reservation_id=reservation.id, end_time=now + timedelta(minutes=10), now=now
        )

        services.end_due_reservations(now=now + timedelta(minutes=11))

        reservation.refresh_from_db()
        assert reservation.status == Reservation.Status.ENDED
        assert reservation.amount_cents == 300  # 30 minutes at $6.00

    def test_running_twice_ends_once(self):
        now = timezone.now()
        reservation = confirmed(now - timedelta(minutes=31), 30)

        assert services.end_reservation_if_due(reservation_id=reservation.id, now=now)
        assert not services.end_reservation_if_due(reservation_id=reservation.id, now=now)

    def test_does_nothing_for_a_cancelled_reservation(self):
        reservation = ReservationFactory(status=Reservation.Status.CANCELLED)

        assert not services.end_reservation_if_due(
            reservation_id=reservation.id, now=reservation.end_time + timedelta(minutes=1)
        )


class TestScheduling:
    @pytest.fixture
    def queued(self, monkeypatch):
        calls = []
        monkeypatch.setattr(
            tasks.end_reservation,
            "apply_async",
            lambda args, eta=None: calls.append((args, eta)),
        )
        return calls

    def test_confirming_a_short_reservation_queues_a_task_at_its_end(
        self, queued, django_capture_on_commit_callbacks
    ):
        reservation = ReservationFactory(
            start_time=timezone.now(), end_time=timezone.now() + timedelta(minutes=5)
        )

        with django_capture_on_commit_callbacks(execute=True):
            services.confirm_reservation(
                reservation_id=reservation.id,
                customer_id="cus_1",
                payment_method_id="pm_1",
                card_brand="visa",
                card_last4="4242",
            )

        assert queued == [
            ((reservation.id, reservation.end_time.isoformat()), reservation.end_time)
        ]

    def test_a_far_end_is_left_to_the_sweep(self, queued, django_capture_on_commit_callbacks):
        reservation = ReservationFactory(
            start_time=timezone.now(), end_time=timezone.now() + timedelta(hours=3)
        )

        with django_capture_on_commit_callbacks(execute=True):
            services.confirm_reservation(
                reservation_id=reservation.id,
                customer_id="cus_1",
                payment_method_id="pm_1",
                card_brand="visa",
                card_last4="4242",
            )

        assert queued == []
