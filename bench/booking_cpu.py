"""Where a booking's CPU goes on the Python side: guest bookings through the whole Django stack,
called in one process with no HTTP server in the way, timed in CPU time (robust on a busy
machine, unlike a rate) and profiled, by layer and by stage of the request. gunicorn's own share
is the gap between this figure and the booking benchmark's "CPU ms per booking" of its workers.
"""

from bench.booking import DATABASE, RESERVATION_TABLE, SPOTS
from bench.databases import active_spots, empty_tables, seeded_database
from bench.options import Options
from bench.project import DjangoProcess
from bench.stats import Check, heading, say, table

WARMUP = 100


def run(options: Options) -> list[Check]:
    heading("Booking CPU: the Python side of a guest booking, in one process")
    database = seeded_database(DATABASE, spots=SPOTS, reseed=options.reseed)
    spot_ids = [spot_id for spot_id, _ in active_spots(database, WARMUP + 2 * options.requests)]
    empty_tables(database, RESERVATION_TABLE)
    say(f"{options.requests:,} bookings timed, {options.requests:,} profiled")
    with DjangoProcess(database.url) as django:
        found = django.run("bench.booking_cpu_django.booking_cpu", spot_ids, WARMUP)
    empty_tables(database, RESERVATION_TABLE)
    print(
        f"  {found['cpu_ms']:.2f} ms of CPU per booking over {found['bookings']:,} bookings "
        f"(and {found['postgres_ms']:.2f} ms in its PostgreSQL backend); "
        f"{found['calls']:,.0f} Python function calls per booking"
    )
    print("  Profiled, by the code that spends it (a built-in counts for its caller):")
    print(_shares(found["layers"], found["cpu_ms"], "layer"))
    print("  Profiled, by stage of the request (cumulative, nested):")
    print(_shares(found["stages"], found["cpu_ms"], "stage"))
    # A figure to read, not a target: the booking benchmark holds the targets.
    return []


def _shares(shares: dict[str, float], cpu_ms: float, what: str) -> str:
    rows = [(label, f"{share:.0%}", f"{share * cpu_ms:.2f}") for label, share in shares.items()]
    if what == "layer":
        rows.sort(key=lambda row: -float(row[2]))
    return table((what, "share", "ms per booking"), rows)
