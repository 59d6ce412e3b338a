import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD

# SQLite serialises writers, so only PostgreSQL shows what two sign-ups at once do.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_sign_ups_for_one_email_create_one_account():
    start = threading.Barrier(4)
    statuses = []

    def sign_up(email: str) -> None:
        credentials = {"email": email, "password": PASSWORD, "password_confirmation": PASSWORD}
        start.wait()
        try:
            response = APIClient().post("/sign-up/", {"credentials": credentials}, format="json")
            statuses.append((response.status_code, list(response.json())))
        finally:
            connection.close()

    emails = ["race@example.com", "RACE@example.com", "Race@Example.com", "race@EXAMPLE.com"]
    threads = [threading.Thread(target=sign_up, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (
        sorted(statuses) == [(201, ["email", "token", "email_verified"])] + [(400, ["email"])] * 3
    )
    assert User.objects.filter(email="race@example.com").count() == 1
