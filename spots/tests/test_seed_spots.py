from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from spots.models import ParkingSpot, lat_band_of
from spots.seeding import (
    AVENUE_CURB_OFFSET_M,
    MANHATTAN,
    NYC_BOUNDS,
    STREET_CURB_OFFSET_M,
)
from spots.tests.factories import ParkingSpotFactory

pytestmark = pytest.mark.django_db

MIDTOWN_BELOW_59TH_ST = "40.748,-73.995,40.760,-73.978"
UPPER_BAY = "40.66,-74.05,40.68,-74.03"
STATEN_ISLAND_NORTH_SHORE = "40.60,-74.16,40.64,-74.08"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_spots", *args, stdout=out)
    return out.getvalue()


def seeded_spots() -> list[tuple[Decimal, Decimal, Decimal]]:
    return list(ParkingSpot.objects.order_by("id").values_list("lat", "lng", "rate"))


def assert_inside(spots, south: float, west: float, north: float, east: float) -> None:
    south, west, north, east = (Decimal(str(edge)) for edge in (south, west, north, east))
    for lat, lng, _ in spots:
        assert south <= lat <= north
        assert west <= lng <= east


def test_same_seed_gives_the_same_spots():
    seed("--count", "300", "--seed", "7")
    first = seeded_spots()
    ParkingSpot.objects.all().delete()

    seed("--count", "300", "--seed", "7")

    assert seeded_spots() == first


def test_different_seed_gives_different_spots():
    seed("--count", "300", "--seed", "7")
    first = set(seeded_spots())
    ParkingSpot.objects.all().delete()

    seed("--count", "300", "--seed", "8")

    assert set(seeded_spots()).isdisjoint(first)


def test_reports_how_many_spots_it_seeded():
    output = seed("--count", "250")

    assert ParkingSpot.objects.count() == 250
    assert "Seeded 250 spots in" in output


def test_spots_lie_inside_new_york_city():
    seed("--count", "3000")

    assert_inside(
        seeded_spots(), NYC_BOUNDS.south, NYC_BOUNDS.west, NYC_BOUNDS.north, NYC_BOUNDS.east
    )


@pytest.mark.parametrize(
    "bbox",
    [
        MIDTOWN_BELOW_59TH_ST,
        "40.68,-74.00,40.72,-73.90",  # Manhattan, Brooklyn, Queens and the East River
        "40.80,-73.95,40.95,-73.80",  # runs north out of the city
        UPPER_BAY,  # open water
    ],
)
def test_spots_lie_inside_the_requested_bbox(bbox):
    seed("--count", "500", "--bbox", bbox)

    south, west, north, east = map(float, bbox.split(","))
    spots = seeded_spots()
    assert len(spots) == 500
    assert_inside(spots, south, west, north, east)
    assert_inside(spots, NYC_BOUNDS.south, NYC_BOUNDS.west, NYC_BOUNDS.north, NYC_BOUNDS.east)


def test_rates_are_quarter_dollar_steps_from_1_to_8_dollars():
    seed("--count", "3000")

    rates = {rate for _, _, rate in seeded_spots()}
    assert all(Decimal("1.00") <= rate <= Decimal("8.00") for rate in rates)
    assert all(rate % Decimal("0.25") == 0 for rate in rates)
    assert all(rate.as_tuple().exponent == -2 for rate in rates)


def test_manhattan_below_59th_st_costs_5_to_8_dollars():
    seed("--count", "500", "--bbox", MIDTOWN_BELOW_59TH_ST)

    rates = {rate for _, _, rate in seeded_spots()}
    assert min(rates) == Decimal("5.00")
    assert max(rates) == Decimal("8.00")


def test_outer_boroughs_cost_1_to_4_dollars():
    seed("--count", "500", "--bbox", STATEN_ISLAND_NORTH_SHORE)

    rates = {rate for _, _, rate in seeded_spots()}
    assert min(rates) == Decimal("1.00")
    assert max(rates) == Decimal("4.00")


def test_about_40_percent_of_spots_are_in_manhattan():
    seed("--count", "5000")

    in_manhattan = sum(MANHATTAN.contains(float(lat), float(lng)) for lat, lng, _ in seeded_spots())
    assert 0.35 <= in_manhattan / 5000 <= 0.45


def test_manhattan_spots_line_up_along_its_streets_and_avenues():
    seed("--count", "500", "--bbox", MIDTOWN_BELOW_59TH_ST)

    grid = MANHATTAN.grid
    # Six decimal places move a spot by up to about 0.1 m.
    tolerance_m = 0.2
    for lat, lng, _ in seeded_spots():
        along, across = grid.to_grid(float(lat), float(lng))
        from_street = abs(along - round(along / grid.street_spacing_m) * grid.street_spacing_m)
        from_avenue = abs(across - round(across / grid.avenue_spacing_m) * grid.avenue_spacing_m)
        assert (
            abs(from_street - STREET_CURB_OFFSET_M) < tolerance_m
            or abs(from_avenue - AVENUE_CURB_OFFSET_M) < tolerance_m
        )


def test_lat_band_matches_latitude_on_every_row():
    seed("--count", "2000")

    for lat, lat_band in ParkingSpot.objects.values_list("lat", "lat_band"):
        assert lat_band == lat_band_of(lat)


def test_if_empty_adds_nothing_to_a_table_that_has_spots():
    ParkingSpotFactory()

    output = seed("--count", "100", "--if-empty")

    assert ParkingSpot.objects.count() == 1
    assert "--if-empty" in output


def test_if_empty_seeds_an_empty_table():
    seed("--count", "100", "--if-empty")

    assert ParkingSpot.objects.count() == 100


@pytest.mark.parametrize(
    "bbox",
    [
        "40.7,-74.0,40.8",  # three numbers
        "40.7,-74.0,40.8,-73.9,1",  # five
        "40.7,west,40.8,-73.9",
        "40.8,-74.0,40.7,-73.9",  # south above north
        "40.7,-73.9,40.8,-74.0",  # west east of east
        "51.4,-0.2,51.6,0.0",  # London
        "40.7,nan,40.8,-73.9",
        "40.75400,-73.98400,40.75401,-73.98399",  # on land, but too small to hold a curb
    ],
)
def test_bad_bbox_is_refused_naming_the_option(bbox):
    with pytest.raises(CommandError, match="--bbox"):
        seed("--count", "10", "--bbox", bbox)

    assert not ParkingSpot.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_seeding_outside_a_transaction_keeps_the_spots():
    seed("--count", "1000")

    assert ParkingSpot.objects.count() == 1000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seeding_on_postgresql_leaves_the_table_ready_for_index_only_scans():
    seed("--count", "5000")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relpages, relallvisible FROM pg_class WHERE relname = %s",
            [ParkingSpot._meta.db_table],
        )
        estimated_rows, pages, all_visible_pages = cursor.fetchone()
    assert estimated_rows == 5000
    assert pages > 0
    assert all_visible_pages == pages
