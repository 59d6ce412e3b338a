import pytest

from accounts.tests.factories import UserFactory, signed_in_client
from spots.tests.factories import ParkingSpotFactory


@pytest.fixture
def spot(db):
    return ParkingSpotFactory(rate="6.00")


@pytest.fixture
def driver(db):
    return UserFactory(email="driver@example.com")


@pytest.fixture
def driver_client(driver):
    client, _ = signed_in_client(driver)
    return client


@pytest.fixture
def stranger_client(db):
    client, _ = signed_in_client(UserFactory(email="stranger@example.com"))
    return client
