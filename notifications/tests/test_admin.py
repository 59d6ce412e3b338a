import pytest
from django.contrib.auth import get_user_model

from notifications.models import EmailKind, OutboundEmail
from notifications.services import MAX_ATTEMPTS, queue_reservation_email
from notifications.tests.mail_backends import UNREACHABLE
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/outboundemail/"


@pytest.fixture
def operator_client(client):
    operator = get_user_model().objects.create_superuser("operator@example.com", "s3cret-pass!")
    client.force_login(operator)
    return client


def queued_email(**reservation_fields) -> OutboundEmail:
    reservation = ReservationFactory(confirmed=True, **reservation_fields)
    return queue_reservation_email(reservation=reservation, kind=EmailKind.CONFIRMATION)


def test_operator_lists_unsent_emails(operator_client):
    unsent = queued_email()
    OutboundEmail.objects.filter(pk=queued_email().pk).update(sent_at=unsent.created_at)

    response = operator_client.get(CHANGELIST, {"delivery": "unsent", "kind": "confirmation"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [unsent]


def test_operator_lists_emails_whose_retries_are_used_up(operator_client):
    queued_email()
    stuck = queued_email()
    OutboundEmail.objects.filter(pk=stuck.pk).update(attempts=MAX_ATTEMPTS)

    response = operator_client.get(CHANGELIST, {"delivery": "given_up"})

    assert list(response.context["cl"].result_list) == [stuck]


def test_operator_finds_emails_by_recipient(operator_client):
    wanted = queued_email(email="findme@example.com")
    queued_email(email="other@example.com")

    response = operator_client.get(CHANGELIST, {"q": "FINDME"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_an_email_can_be_read_but_not_added_edited_or_deleted(operator_client):
    email = queued_email()

    page = operator_client.get(f"{CHANGELIST}{email.pk}/change/")
    assert page.status_code == 200
    assert b"Reservation Confirmation" in page.content
    assert not page.context["has_change_permission"]
    assert operator_client.get(f"{CHANGELIST}add/").status_code == 403
    assert operator_client.post(f"{CHANGELIST}{email.pk}/delete/").status_code == 403


def test_send_now_sends_the_selected_unsent_email(operator_client, mailoutbox):
    email = queued_email()
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS)

    response = operator_client.post(
        CHANGELIST, {"action": "send_now", "_selected_action": [email.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "1 email(s) sent." in [str(m) for m in response.context["messages"]]
    assert [m.to for m in mailoutbox] == [[email.recipient]]
    email.refresh_from_db()
    assert email.sent_at is not None


def test_send_now_reports_a_failure(operator_client, mailoutbox, settings):
    settings.EMAIL_BACKEND = UNREACHABLE
    email = queued_email()

    response = operator_client.post(
        CHANGELIST, {"action": "send_now", "_selected_action": [email.pk]}, follow=True
    )

    assert "1 email(s) failed; see their last error." in [
        str(m) for m in response.context["messages"]
    ]
    email.refresh_from_db()
    assert email.sent_at is None
    assert "ConnectionRefusedError" in email.last_error
