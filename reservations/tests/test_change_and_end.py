from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.tests.factories import UserFactory
from payments.models import SandboxSetupIntent
from payments.services.card_setup import start_card_setup
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def change(client, reservation, end_time):
    return client.patch(
        f"/update-reservation-auth/{reservation.id}/",
        {"reservation": {"end_time": end_time}},
        format="json",
    )


def change_as_guest(client, reservation, end_time, email=None):
    return client.patch(
        f"/update-reservation-unauth/{reservation.id}/{email or reservation.email}/",
        {"reservation": {"end_time": end_time}},
        format="json",
    )


@pytest.fixture
def booking(driver, spot):
    """The driver's confirmed hour, started ten minutes ago."""
    start = timezone.now() - timedelta(minutes=10)
    return ReservationFactory(
        user=driver,
        email=driver.email,
        spot=spot,
        confirmed=True,
        start_time=start,
        end_time=start + timedelta(hours=1),
    )


class TestExtend:
    def test_extends_into_free_time(self, driver_client, booking):
        new_end = booking.end_time + timedelta(minutes=30)

        response = change(driver_client, booking, iso(new_end))

        assert response.status_code == 200
        assert parse_datetime(response.json()["end_time"]) == new_end

    def test_accepts_the_browser_clients_millisecond_format(self, driver_client, booking):
        new_end = (booking.end_time + timedelta(minutes=30)).replace(microsecond=0)

        response = change(driver_client, booking, new_end.strftime("%Y-%m-%dT%H:%M:%S.000Z"))

        assert response.status_code == 200

    def test_cannot_extend_into_someone_elses_booking(self, driver_client, booking):
        ReservationFactory(
            spot=booking.spot,
            start_time=booking.end_time + timedelta(minutes=20),
            end_time=booking.end_time + timedelta(hours=1),
        )

        response = change(driver_client, booking, iso(booking.end_time + timedelta(minutes=30)))

        assert response.status_code == 400
        assert response.json() == {"parking_spot": ["This parking spot is already reserved"]}
        booking.refresh_from_db()
        assert booking.end_time < booking.start_time + timedelta(hours=1, seconds=1)

    def test_extends_up_to_a_following_booking(self, driver_client, booking):
        ReservationFactory(
            spot=booking.spot,
            start_time=booking.end_time + timedelta(minutes=20),
            end_time=booking.end_time + timedelta(hours=1),
        )

        response = change(driver_client, booking, iso(booking.end_time + timedelta(minutes=20)))

        assert response.status_code == 200

    def test_cannot_end_more_than_24_hours_after_the_start(self, driver_client, booking):
        response = change(
            driver_client, booking, iso(booking.start_time + timedelta(hours=24, minutes=1))
        )

        assert response.status_code == 400
        assert list(response.json()) == ["end_time"]

    def test_a_confirmed_driver_is_emailed_the_amendment(
        self, driver_client, booking, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            change(driver_client, booking, iso(booking.end_time + timedelta(minutes=30)))

        assert [m.subject for m in mailoutbox] == ["Reservation Amendment"]
        assert mailoutbox[0].to == [booking.email]


class TestShortenAndEnd:
    def test_shortens(self, driver_client, booking):
        new_end = booking.end_time - timedelta(minutes=20)

        response = change(driver_client, booking, iso(new_end))

        assert response.status_code == 200
        assert response.json()["status"] == "confirmed"
        assert parse_datetime(response.json()["end_time"]) == new_end

    def test_an_end_time_of_now_ends_it_and_records_the_fee(self, driver_client, booking):
        response = change(driver_client, booking, iso(timezone.now()))

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ended"
        # Ten minutes (and a started eleventh) at $6.00 an hour.
        assert body["amount_cents"] in (100, 110)
        assert parse_datetime(body["end_time"]) <= timezone.now()

    def test_ending_frees_the_spot_at_once(self, driver_client, api_client, booking):
        change(driver_client, booking, iso(timezone.now()))

        response = api_client.post(
            f"/reservation-unauth/{booking.spot_id}/",
            {"reservation": {"email": "next@example.com", "reservation_length": 30}},
            format="json",
        )

        assert response.status_code == 201

    def test_ending_an_unpaid_reservation_cancels_it(self, api_client, spot):
        reservation = ReservationFactory(spot=spot)

        response = change_as_guest(api_client, reservation, iso(timezone.now()))

        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"

    def test_cannot_move_the_end_before_the_start(self, driver_client, booking):
        response = change(driver_client, booking, iso(booking.start_time - timedelta(minutes=1)))

        assert response.status_code == 400
        assert list(response.json()) == ["end_time"]

    def test_cannot_change_an_ended_reservation(self, driver_client, booking):
        change(driver_client, booking, iso(timezone.now()))

        response = change(driver_client, booking, iso(timezone.now() + timedelta(hours=1)))

        assert response.status_code == 400
        assert list(response.json()) == ["end_time"]

    def test_cannot_change_a_reservation_whose_time_is_up(self, driver_client, driver, spot):
        start = timezone.now() - timedelta(hours=2)
        past = ReservationFactory(
            user=driver,
            spot=spot,
            confirmed=True,
            start_time=start,
            end_time=start + timedelta(hours=1),
        )

        response = change(driver_client, past, iso(timezone.now() + timedelta(hours=1)))

        assert response.status_code == 400


class TestBadChanges:
    @pytest.mark.parametrize(
        "end_time", ["2026-11-24T18:30:00", "soon", "", None, 1700000000, {"at": "now"}]
    )
    def test_a_malformed_or_zoneless_end_time_is_a_400_naming_it(
        self, driver_client, booking, end_time
    ):
        response = change(driver_client, booking, end_time)

        assert response.status_code == 400
        assert list(response.json()) == ["end_time"]

    def test_a_zoneless_end_time_says_a_zone_is_needed(self, driver_client, booking):
        response = change(driver_client, booking, "2026-11-24T18:30:00")

        assert "time zone" in response.json()["end_time"][0]

    def test_a_missing_envelope_is_a_400_naming_it(self, driver_client, booking):
        response = driver_client.patch(
            f"/update-reservation-auth/{booking.id}/", {"end_time": "x"}, format="json"
        )

        assert response.status_code == 400
        assert list(response.json()) == ["reservation"]

    def test_someone_elses_reservation_is_not_found(self, stranger_client, booking):
        response = change(stranger_client, booking, iso(booking.end_time))

        assert response.status_code == 404

    def test_an_unknown_reservation_is_not_found(self, driver_client):
        response = driver_client.patch(
            "/update-reservation-auth/12345/",
            {"reservation": {"end_time": iso(timezone.now())}},
            format="json",
        )

        assert response.status_code == 404

    def test_a_guest_with_the_wrong_email_gets_404(self, api_client, spot):
        reservation = ReservationFactory(spot=spot)

        response = change_as_guest(
            api_client, reservation, iso(timezone.now()), email="wrong@example.com"
        )

        assert response.status_code == 404

    def test_a_guest_route_never_reaches_an_accounts_reservation(self, api_client, booking):
        response = change_as_guest(api_client, booking, iso(timezone.now()))

        assert response.status_code == 404
        booking.refresh_from_db()
        assert booking.status == Reservation.Status.CONFIRMED

    def test_guest_email_matches_in_any_case(self, api_client, spot):
        reservation = ReservationFactory(spot=spot, email="guest@example.com")

        response = change_as_guest(
            api_client, reservation, iso(reservation.end_time), email="GUEST@Example.COM"
        )

        assert response.status_code == 200


class TestDelete:
    def test_deleting_an_unpaid_reservation_cancels_it_and_frees_the_spot(self, api_client, spot):
        reservation = ReservationFactory(spot=spot)

        response = api_client.delete(
            f"/delete-reservation-unauth/{reservation.id}/{reservation.email}/"
        )

        assert response.status_code == 204
        reservation.refresh_from_db()
        assert reservation.status == Reservation.Status.CANCELLED
        spots = api_client.get(
            "/available-parking-spots-filter",
            {"lat": spot.lat, "lng": spot.lng, "unit": "km", "dist": 1},
        )
        assert [s["id"] for s in spots.json()] == [spot.id]

    def test_deleting_a_confirmed_reservation_ends_it_for_the_time_used(
        self, driver_client, booking
    ):
        response = driver_client.delete(f"/delete-reservation-auth/{booking.id}")

        assert response.status_code == 204
        booking.refresh_from_db()
        assert booking.status == Reservation.Status.ENDED
        assert booking.amount_cents in (100, 110)

    def test_deleting_a_confirmed_booking_ahead_cancels_it_free(self, driver_client, driver, spot):
        start = timezone.now() + timedelta(days=1)
        ahead = ReservationFactory(
            user=driver,
            spot=spot,
            confirmed=True,
            start_time=start,
            end_time=start + timedelta(hours=1),
        )

        driver_client.delete(f"/delete-reservation-auth/{ahead.id}/")

        ahead.refresh_from_db()
        assert ahead.status == Reservation.Status.CANCELLED
        assert ahead.amount_cents is None

    def test_deleting_twice_is_refused_and_leaves_the_next_booking_alone(
        self, driver_client, booking, api_client
    ):
        driver_client.delete(f"/delete-reservation-auth/{booking.id}/")
        successor = ReservationFactory(spot=booking.spot)

        response = driver_client.delete(f"/delete-reservation-auth/{booking.id}/")

        assert response.status_code == 400
        successor.refresh_from_db()
        assert successor.status == Reservation.Status.PENDING_PAYMENT

    def test_someone_elses_reservation_is_not_found(self, stranger_client, booking):
        assert stranger_client.delete(f"/delete-reservation-auth/{booking.id}/").status_code == 404

    def test_a_guest_route_never_deletes_an_accounts_reservation(self, api_client, booking):
        response = api_client.delete(f"/delete-reservation-unauth/{booking.id}/{booking.email}/")

        assert response.status_code == 404


class TestLists:
    def test_lists_the_callers_live_reservations_newest_first(self, driver_client, driver, spot):
        older = ReservationFactory(user=driver, spot=spot)
        newer = ReservationFactory(
            user=driver,
            start_time=older.start_time + timedelta(hours=2),
            end_time=older.start_time + timedelta(hours=3),
        )
        ReservationFactory(user=UserFactory())

        response = driver_client.get("/reservation-auth/")

        assert [r["id"] for r in response.json()] == [newer.id, older.id]

    def test_ended_list_holds_ended_cancelled_and_timed_out_ones(self, driver_client, driver, spot):
        start = timezone.now() - timedelta(hours=3)
        timed_out = ReservationFactory(
            user=driver,
            spot=spot,
            confirmed=True,
            start_time=start,
            end_time=start + timedelta(hours=1),
        )
        cancelled = ReservationFactory(user=driver, status=Reservation.Status.CANCELLED)
        live = ReservationFactory(user=driver)

        ended = driver_client.get("/expired-reservations-auth").json()
        live_ids = [r["id"] for r in driver_client.get("/reservation-auth").json()]

        assert {r["id"] for r in ended} == {timed_out.id, cancelled.id}
        assert live_ids == [live.id]

    def test_lists_need_a_token(self, api_client):
        assert api_client.get("/reservation-auth/").status_code == 401
        assert api_client.get("/expired-reservations-auth").status_code == 401

    def test_guest_reads_their_reservation_by_id_and_email(self, api_client, spot):
        reservation = ReservationFactory(spot=spot, email="guest@example.com")

        response = api_client.get(f"/reservation-unauth/{reservation.id}/Guest@example.com")

        assert response.status_code == 200
        assert response.json()["id"] == reservation.id

    def test_guest_with_the_wrong_email_reads_nothing(self, api_client, spot):
        reservation = ReservationFactory(spot=spot)

        response = api_client.get(f"/reservation-unauth/{reservation.id}/someone@example.com/")

        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}

    def test_an_id_beyond_the_id_range_is_not_found(self, api_client):
        response = api_client.get("/reservation-unauth/99999999999999999999/a@example.com/")

        assert response.status_code == 404


def test_cancelling_an_unpaid_reservation_closes_its_card_setup(
    api_client, spot, django_capture_on_commit_callbacks
):
    reservation = ReservationFactory(spot=spot)
    start_card_setup(reservation_id=reservation.id)
    reservation.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        api_client.delete(f"/delete-reservation-unauth/{reservation.id}/{reservation.email}/")

    intent = SandboxSetupIntent.objects.get(id=reservation.stripe_setup_intent_id)
    assert intent.status == "canceled"
