from datetime import UTC, datetime

import pytest
from django.db.models import DateTimeField, IntegerField

from securemyspot.prepared import Param, PreparedQuery
from spots.models import ParkingSpot
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db


def ids_from(count: int):
    return (
        ParkingSpot.objects.filter(id__gte=Param("first", IntegerField()))
        .order_by("id")
        .values_list("id")[:count]
    )


def test_binds_the_named_values_into_the_compiled_sql():
    spots = ParkingSpotFactory.create_batch(4)
    query = PreparedQuery(lambda count: ids_from(count))

    rows = query.rows((2,), {"first": spots[1].id})

    assert rows == [(spots[1].id,), (spots[2].id,)]


def test_compiles_each_shape_once():
    ParkingSpotFactory.create_batch(3)
    built = []
    query = PreparedQuery(lambda count: built.append(count) or ids_from(count))

    for first in (0, 1, 2):
        query.rows((1,), {"first": first})
    query.rows((2,), {"first": 0})

    assert built == [1, 2]


def test_adapts_datetimes_for_the_database():
    early = ParkingSpotFactory()
    ParkingSpot.objects.filter(pk=early.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    ParkingSpotFactory()
    query = PreparedQuery(
        lambda: ParkingSpot.objects.filter(
            created_at__lt=Param("before", DateTimeField())
        ).values_list("id")
    )

    assert query.rows((), {"before": datetime(2026, 6, 1, tzinfo=UTC)}) == [(early.id,)]
