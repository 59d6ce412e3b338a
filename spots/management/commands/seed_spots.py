import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from spots.models import ParkingSpot
from spots.seeding import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SEED,
    BoundingBox,
    InvalidBoundingBox,
    generate_spots,
    insert_spots,
)


class Command(BaseCommand):
    help = (
        "Seed parking spots along New York City's streets. The same --seed and --count always "
        "give the same spots; see spots/seeding.py for the model."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="How many spots to add.")
        parser.add_argument(
            "--bbox",
            metavar="S,W,N,E",
            help="Only add spots inside this box (degrees); it must overlap New York City.",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Add nothing if any parking spot exists already.",
        )
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(
        self,
        *args: object,
        count: int,
        bbox: str | None,
        seed: int,
        if_empty: bool,
        batch_size: int,
        **options: object,
    ) -> None:
        if count < 1:
            raise CommandError("--count must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        box = _parse_bbox(bbox) if bbox is not None else None
        if if_empty and ParkingSpot.objects.exists():
            self.stdout.write("Parking spots exist already; --if-empty: seeded nothing.")
            return

        started = time.perf_counter()
        try:
            rows = generate_spots(count=count, seed=seed, bbox=box)
            # tqdm redraws its line with carriage returns, which Django's stderr wrapper would
            # break up with newlines.
            with tqdm(total=count, unit="spot", file=sys.stderr) as progress_bar:
                inserted = insert_spots(rows, batch_size=batch_size, progress=progress_bar.update)
        except InvalidBoundingBox as error:
            raise CommandError(f"--bbox {bbox}: {error}.") from error
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Seeded {inserted:,} spots in {elapsed:.1f} s ({inserted / elapsed:,.0f} spots/s)."
        )


def _parse_bbox(text: str) -> BoundingBox:
    parts = text.split(",")
    try:
        south, west, north, east = (float(part) for part in parts)
    except ValueError as error:
        raise CommandError(
            f"--bbox {text}: expected four numbers S,W,N,E, e.g. 40.74,-74.00,40.77,-73.97."
        ) from error
    try:
        return BoundingBox(south=south, west=west, north=north, east=east)
    except InvalidBoundingBox as error:
        raise CommandError(f"--bbox {text}: {error}.") from error
