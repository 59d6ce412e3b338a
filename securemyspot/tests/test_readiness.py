import pytest
from django.conf import settings

from payments.tests.fake_stripe import free_port
from securemyspot.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """The broker's address is a loopback port nobody listens on."""
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    # Celery prefers CELERY_BROKER_URL from the environment (set in CI's second pass) to its
    # configuration. The configuration is patched first: reading it with the variable already
    # set would record the closed address as the value to restore.
    monkeypatch.setattr(celery_app.conf, "broker_url", closed)
    # The embedded default names its own transport class (securemyspot/broker.py), which
    # would win over the URL's scheme.
    monkeypatch.setitem(celery_app.conf, "broker_transport", None)
    monkeypatch.setenv("CELERY_BROKER_URL", closed)


def test_ready_when_database_broker_and_redis_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "redis": "ok" if settings.REDIS_URL else "not configured",
    }


def test_not_ready_naming_the_broker_when_it_is_unreachable(client, broker_down):
    response = client.get("/readyz/")

    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert response.json()["database"] == "ok"


def test_not_ready_naming_redis_when_it_is_configured_but_unreachable(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["redis"] == "unavailable"


def test_readiness_is_documented_in_the_schema(client):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})

    assert "/readyz/" in response.json()["paths"]
