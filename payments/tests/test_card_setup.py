import pytest
import stripe

from accounts.tests.factories import UserFactory, signed_in_client
from payments.models import SetupAttempt, StripeCustomer
from payments.tests.fake_stripe import setup_intent_id_of
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


def guest_path(reservation, email=None) -> str:
    return f"/create-payment-intent-unauth/{reservation.pk}/{email or reservation.email}/"


@pytest.mark.parametrize("slash", ["/", ""])
def test_signed_in_driver_gets_a_setup_intent_client_secret(
    fake_stripe, driver_client, booking, slash
):
    response = driver_client.post(f"/create-payment-intent-auth/{booking.pk}{slash}")

    assert response.status_code == 201
    secret = response.json()["clientSecret"]
    intent = fake_stripe.setup_intent(setup_intent_id_of(secret))
    assert intent.status == "requires_payment_method"
    assert intent.usage == "off_session"
    booking.refresh_from_db()
    assert booking.stripe_setup_intent_id == intent.id
    assert booking.stripe_customer_id == intent.customer


def test_calling_twice_reuses_one_setup_intent_and_one_customer(
    fake_stripe, driver_client, booking
):
    first = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/")
    second = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/")

    assert first.status_code == second.status_code == 201
    assert first.json()["clientSecret"] == second.json()["clientSecret"]
    assert len(fake_stripe.setup_intents_of(booking.pk)) == 1
    assert len(fake_stripe.customers_with_email(booking.email)) == 1


def test_one_customer_serves_every_reservation_of_an_email(fake_stripe, driver_client, driver):
    bookings = [ReservationFactory(user=driver, email=driver.email) for _ in range(2)]

    for booking in bookings:
        assert driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").status_code == 201

    [customer] = fake_stripe.customers_with_email(driver.email)
    assert StripeCustomer.objects.get(email=driver.email).customer_id == customer.id
    for booking in bookings:
        assert fake_stripe.setup_intents_of(booking.pk)[0].customer == customer.id


def test_guest_gets_a_client_secret_and_the_same_one_again(fake_stripe, api_client, guest_booking):
    first = api_client.post(guest_path(guest_booking))
    second = api_client.post(guest_path(guest_booking).rstrip("/"))

    assert first.status_code == second.status_code == 201
    assert first.json()["clientSecret"] == second.json()["clientSecret"]
    assert len(fake_stripe.setup_intents_of(guest_booking.pk)) == 1
    assert len(fake_stripe.customers_with_email(guest_booking.email)) == 1


def test_guest_email_in_the_path_matches_in_any_case(fake_stripe, api_client, guest_booking):
    response = api_client.post(guest_path(guest_booking, guest_booking.email.upper()))

    assert response.status_code == 201


def test_someone_elses_reservation_is_not_found(fake_stripe, booking):
    stranger, _ = signed_in_client(UserFactory())

    response = stranger.post(f"/create-payment-intent-auth/{booking.pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert fake_stripe.setup_intents_of(booking.pk) == []


def test_guest_with_the_wrong_email_is_not_found(fake_stripe, api_client, guest_booking):
    response = api_client.post(guest_path(guest_booking, "someone.else@example.com"))

    assert response.status_code == 404
    assert fake_stripe.setup_intents_of(guest_booking.pk) == []


def test_guest_route_does_not_reach_an_accounts_reservation(fake_stripe, api_client, booking):
    response = api_client.post(guest_path(booking))

    assert response.status_code == 404


def test_signing_in_is_required(fake_stripe, api_client, booking):
    response = api_client.post(f"/create-payment-intent-auth/{booking.pk}/")

    assert response.status_code == 401


@pytest.mark.parametrize("state", ["cancelled", "expired", "ended"])
def test_a_reservation_no_longer_awaiting_payment_is_a_conflict(
    fake_stripe, driver_client, driver, state
):
    booking = ReservationFactory(user=driver, email=driver.email, status=state)

    response = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/")

    assert response.status_code == 409
    assert response.json()["reservation_status"] == state
    assert fake_stripe.setup_intents_of(booking.pk) == []


def test_a_confirmed_reservation_is_a_conflict(fake_stripe, driver_client, driver):
    booking = ReservationFactory(user=driver, email=driver.email, confirmed=True)

    response = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/")

    assert response.status_code == 409
    assert response.json()["reservation_status"] == "confirmed"


def test_after_a_declined_card_a_new_setup_intent_takes_the_next_card(
    fake_stripe, driver_client, booking
):
    declined = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/").json()
    with pytest.raises(stripe.CardError):
        fake_stripe.save_card(declined["clientSecret"], "4000000000000002")

    retry = driver_client.post(f"/create-payment-intent-auth/{booking.pk}/")

    assert retry.status_code == 201
    assert retry.json()["clientSecret"] != declined["clientSecret"]
    assert fake_stripe.save_card(retry.json()["clientSecret"]) == "succeeded"
    assert len(fake_stripe.setup_intents_of(booking.pk)) == 2
    assert list(
        SetupAttempt.objects.filter(reservation=booking).values_list("number", flat=True)
    ) == [
        1,
        2,
    ]
