import pytest

from accounts.models import User
from payments.models import Charge
from payments.tests.charging import ended_reservation

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(User.objects.create_superuser("ops@example.com", "kerb-side-42"))
    return client


def make_charge(status: str, *, needs_attention: bool = False, **fields) -> Charge:
    reservation = ended_reservation(**fields)
    return Charge.objects.create(
        reservation=reservation,
        amount_cents=1234,
        currency="usd",
        status=status,
        needs_attention=needs_attention,
    )


def test_operators_find_failed_and_flagged_charges(operator_client):
    paid = make_charge(Charge.Status.SUCCEEDED)
    declined = make_charge(Charge.Status.FAILED)
    flagged = make_charge(Charge.Status.FAILED, needs_attention=True)

    failed_page = operator_client.get("/admin/payments/charge/?status__exact=failed")
    flagged_page = operator_client.get("/admin/payments/charge/?needs_attention__exact=1")

    assert failed_page.status_code == flagged_page.status_code == 200
    assert set(failed_page.context["cl"].result_list) == {declined, flagged}
    assert list(flagged_page.context["cl"].result_list) == [flagged]
    assert paid not in failed_page.context["cl"].result_list


def test_operators_search_charges_by_reservation_id_or_email(operator_client):
    wanted = make_charge(Charge.Status.FAILED, email="lost.card@example.com")
    make_charge(Charge.Status.FAILED)

    by_id = operator_client.get(f"/admin/payments/charge/?q={wanted.pk}")
    by_email = operator_client.get("/admin/payments/charge/?q=lost.card")

    assert list(by_id.context["cl"].result_list) == [wanted]
    assert list(by_email.context["cl"].result_list) == [wanted]


def test_operators_mark_a_flagged_charge_handled_but_cannot_edit_it(operator_client):
    flagged = make_charge(Charge.Status.FAILED, needs_attention=True)

    operator_client.post(
        "/admin/payments/charge/",
        {"action": "mark_handled", "_selected_action": [flagged.pk]},
    )

    flagged.refresh_from_db()
    assert not flagged.needs_attention
    assert operator_client.get(f"/admin/payments/charge/{flagged.pk}/delete/").status_code == 403
