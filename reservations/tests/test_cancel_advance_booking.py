"""A booking made ahead can be cancelled before it starts, free: it never holds the spot, is
never charged, and the driver is told by email (docs/reservations.md, "Cancelling ahead")."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import OutboundEmail
from payments.models import Charge
from payments.services.charging import retry_due_charges
from reservations import services
from reservations.models import Reservation, ReservationEvent
from reservations.tests.factories import ReservationFactory
from securemyspot.formatting import format_local_time
from spots.models import AvailabilityEvent

pytestmark = pytest.mark.django_db

STARTED = {"reservation": ["It has already started: end it instead."]}


def cancel(client, reservation):
    return client.post(f"/cancel-reservation-auth/{reservation.id}/")


def cancel_as_guest(client, reservation, email=None):
    return client.post(f"/cancel-reservation-unauth/{reservation.id}/{email or reservation.email}/")


@pytest.fixture
def ahead(driver, spot):
    """The driver's confirmed hour, starting tomorrow."""
    start = timezone.now() + timedelta(days=1)
    return ReservationFactory(
        user=driver,
        email=driver.email,
        spot=spot,
        confirmed=True,
        start_time=start,
        end_time=start + timedelta(hours=1),
    )


@pytest.fixture
def guest_ahead(spot):
    """A guest's confirmed hour, starting in two hours."""
    start = timezone.now() + timedelta(hours=2)
    return ReservationFactory(
        spot=spot, confirmed=True, start_time=start, end_time=start + timedelta(hours=1)
    )


class TestCancel:
    def test_a_driver_cancels_a_booking_ahead(self, driver_client, ahead):
        response = cancel(driver_client, ahead)

        assert response.status_code == 200
        body = response.json()
        assert body["id"] == ahead.id
        assert body["status"] == "cancelled"
        ahead.refresh_from_db()
        assert ahead.status == Reservation.Status.CANCELLED
        assert ahead.amount_cents is None
        assert ahead.finished_at is not None

    def test_a_guest_cancels_a_booking_ahead_by_id_and_email(self, api_client, guest_ahead):
        response = cancel_as_guest(api_client, guest_ahead, email=guest_ahead.email.upper())

        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"

    def test_an_unpaid_booking_ahead_is_cancelled_too(self, api_client, spot):
        unpaid = ReservationFactory(spot=spot, start_time=timezone.now() + timedelta(hours=1))

        response = cancel_as_guest(api_client, unpaid)

        assert response.status_code == 200
        unpaid.refresh_from_db()
        assert unpaid.status == Reservation.Status.CANCELLED
        assert unpaid.hold_expires_at is None

    def test_the_spot_is_bookable_again_for_that_time(self, driver_client, ahead, api_client):
        cancel(driver_client, ahead)

        response = api_client.post(
            f"/reservation-unauth/{ahead.spot_id}/",
            {
                "reservation": {
                    "email": "next@example.com",
                    "reservation_length": 60,
                    "start_time": ahead.start_time.isoformat(),
                }
            },
            format="json",
        )

        assert response.status_code == 201


class TestRefused:
    def test_a_started_booking_is_ended_not_cancelled(self, driver_client, driver, spot):
        started = ReservationFactory(
            user=driver,
            spot=spot,
            confirmed=True,
            start_time=timezone.now() - timedelta(minutes=5),
        )

        response = cancel(driver_client, started)

        assert response.status_code == 409
        assert response.json() == STARTED
        started.refresh_from_db()
        assert started.status == Reservation.Status.CONFIRMED

    @pytest.mark.parametrize(
        "status",
        [
            Reservation.Status.CANCELLED,
            Reservation.Status.ENDED,
            Reservation.Status.EXPIRED,
            Reservation.Status.PAYMENT_FAILED,
        ],
    )
    def test_one_no_longer_live_is_refused(self, driver_client, ahead, status):
        Reservation.objects.filter(pk=ahead.pk).update(status=status)

        response = cancel(driver_client, ahead)

        assert response.status_code == 409
        assert list(response.json()) == ["reservation"]

    def test_cancelling_twice_is_refused(self, driver_client, ahead):
        cancel(driver_client, ahead)

        response = cancel(driver_client, ahead)

        assert response.status_code == 409
        assert response.json() == {"reservation": ["It is cancelled: there is nothing to cancel."]}

    def test_someone_elses_booking_is_not_found(self, stranger_client, ahead):
        assert cancel(stranger_client, ahead).status_code == 404
        ahead.refresh_from_db()
        assert ahead.status == Reservation.Status.CONFIRMED

    def test_a_guest_route_never_cancels_an_accounts_booking(self, api_client, ahead):
        assert cancel_as_guest(api_client, ahead).status_code == 404

    def test_a_guest_with_another_email_is_not_found(self, api_client, guest_ahead):
        response = cancel_as_guest(api_client, guest_ahead, email="other@example.com")

        assert response.status_code == 404

    def test_signing_in_is_required(self, api_client, ahead):
        assert cancel(api_client, ahead).status_code == 401

    @pytest.mark.parametrize("path", ["abc", "-1", "12345678901234567", "0x10"])
    def test_a_malformed_id_is_not_found(self, driver_client, path):
        assert driver_client.post(f"/cancel-reservation-auth/{path}/").status_code == 404

    def test_an_unknown_id_is_not_found(self, driver_client):
        assert driver_client.post("/cancel-reservation-auth/42/").status_code == 404

    def test_only_post_is_allowed(self, driver_client, ahead):
        assert driver_client.get(f"/cancel-reservation-auth/{ahead.id}/").status_code == 405


class TestAfterwards:
    def test_the_driver_is_emailed_that_nothing_is_charged(
        self, driver_client, ahead, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            cancel(driver_client, ahead)

        [message] = mailoutbox
        assert message.subject == "Reservation Cancelled"
        assert message.to == [ahead.email]
        assert "nothing is charged" in message.body
        assert str(ahead.id) in message.body
        assert format_local_time(ahead.start_time) in message.body  # New York time, its zone

    def test_no_email_is_queued_when_it_is_refused(self, driver_client, driver, spot):
        started = ReservationFactory(
            user=driver, spot=spot, confirmed=True, start_time=timezone.now()
        )

        cancel(driver_client, started)

        assert not OutboundEmail.objects.filter(reservation=started).exists()

    def test_the_engine_neither_ends_charges_reminds_nor_expires_it(
        self, driver_client, ahead, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            cancel(driver_client, ahead)
        after_end = ahead.end_time + timedelta(minutes=1)

        with django_capture_on_commit_callbacks(execute=True):
            assert services.end_reservation_if_due(reservation_id=ahead.pk, now=after_end) is False
            assert services.end_due_reservations(now=after_end) == []
            services.send_due_reminders(now=ahead.end_time - timedelta(minutes=5))
            services.expire_unpaid_reservation(reservation_id=ahead.pk, now=after_end)
            retry_due_charges(now=after_end)

        ahead.refresh_from_db()
        assert ahead.status == Reservation.Status.CANCELLED
        assert ahead.amount_cents is None
        assert not Charge.objects.filter(reservation=ahead).exists()
        assert [m.subject for m in mailoutbox] == ["Reservation Cancelled"]


class TestStream:
    def test_the_owners_stream_records_the_cancellation(self, driver_client, ahead, driver):
        cancel(driver_client, ahead)

        recorded = ReservationEvent.objects.values_list("kind", "reservation", "user")
        assert list(recorded) == [("cancelled", ahead.pk, driver.pk)]

    def test_a_refused_cancellation_records_nothing(self, driver_client, ahead):
        cancel(driver_client, ahead)
        ReservationEvent.objects.all().delete()

        cancel(driver_client, ahead)

        assert not ReservationEvent.objects.exists()


class TestAvailability:
    def test_a_booking_not_yet_announced_writes_no_event(self, driver_client, ahead):
        cancel(driver_client, ahead)

        assert not AvailabilityEvent.objects.exists()

    def test_a_start_the_clock_already_announced_is_freed_again(self, ahead):
        services.announce_by_clock(now=ahead.start_time)  # a sweep whose clock runs ahead

        services.cancel_advance_booking(
            reservation_id=ahead.pk, now=ahead.start_time - timedelta(seconds=1)
        )

        kinds = list(AvailabilityEvent.objects.order_by("seq").values_list("spot_id", "kind"))
        assert kinds == [(ahead.spot_id, "taken"), (ahead.spot_id, "freed")]

    def test_the_clock_never_announces_a_cancelled_booking(self, driver_client, ahead):
        cancel(driver_client, ahead)

        assert services.announce_by_clock(now=ahead.start_time) == 0
        assert not AvailabilityEvent.objects.exists()
