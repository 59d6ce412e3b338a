import pytest
from django.contrib.auth import get_user_model

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/reservations/reservation/"


@pytest.fixture
def operator_client(client):
    operator = get_user_model().objects.create_superuser("operator@example.com", "s3cret-pass!")
    client.force_login(operator)
    return client


def test_operator_filters_reservations_by_status(operator_client):
    ReservationFactory()
    confirmed = ReservationFactory(confirmed=True)

    response = operator_client.get(CHANGELIST, {"status__exact": "confirmed"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [confirmed]


def test_operator_finds_a_reservation_by_email(operator_client):
    wanted = ReservationFactory(email="needle@example.com")
    ReservationFactory()

    response = operator_client.get(CHANGELIST, {"q": "needle"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_operator_sees_a_reservation_but_cannot_edit_or_delete_it(operator_client):
    reservation = ReservationFactory()

    page = operator_client.get(f"{CHANGELIST}{reservation.id}/change/")
    operator_client.post(f"{CHANGELIST}{reservation.id}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert Reservation.objects.filter(pk=reservation.pk).exists()
