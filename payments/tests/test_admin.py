import pytest

from accounts.models import User
from payments.models import StripeCustomer, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(User.objects.create_superuser("ops@example.com", "kerb-side-42"))
    return client


@pytest.mark.parametrize("model", ["stripecustomer", "webhookevent"])
def test_operators_can_look_up_but_not_write_stripe_records(operator_client, model):
    StripeCustomer.objects.create(email="driver@example.com", customer_id="cus_1")
    WebhookEvent.objects.create(event_id="evt_1", type="setup_intent.succeeded")

    listing = operator_client.get(f"/admin/payments/{model}/")
    adding = operator_client.get(f"/admin/payments/{model}/add/")

    assert listing.status_code == 200
    assert adding.status_code == 403
