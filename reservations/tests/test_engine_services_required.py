"""The engine's tests need RabbitMQ and Redis. Where CI provides them (REQUIRE_POSTGRES), one
that is missing fails the test: a skip there would pass CI without testing the engine."""

import pytest

from reservations.tests.workers import unavailable


def test_a_missing_service_skips_the_test_on_a_laptop(monkeypatch):
    monkeypatch.delenv("REQUIRE_POSTGRES", raising=False)

    with pytest.raises(pytest.skip.Exception, match="needs RabbitMQ"):
        unavailable("needs RabbitMQ")


def test_a_missing_service_fails_the_test_in_the_ci_pass_that_provides_it(monkeypatch):
    monkeypatch.setenv("REQUIRE_POSTGRES", "1")

    with pytest.raises(pytest.fail.Exception, match="needs RabbitMQ"):
        unavailable("needs RabbitMQ")
