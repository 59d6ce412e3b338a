"""Booking a spot through the real HTTP stack: a race for a few spots, then full speed.

Guests book (``POST /reservation-unauth/<spot>/``), so no account or token is needed, behind
gunicorn with 2 workers on PostgreSQL:

(a) the race: 200 clients, 10 for each of 20 spots, released together, each asking for a
    period overlapping every other asked for its spot; exactly one may win each spot, and
    PostgreSQL is then asked whether any two live reservations overlap;
(b) uncontended: N clients booking distinct spots as fast as they are answered, beside the
    ceiling: plain INSERTs of the same rows, through the same exclusion constraint, by as many
    psycopg connections.
"""

import http.client
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from bench.databases import (
    Database,
    active_spots,
    empty_tables,
    seeded_database,
    server_version,
)
from bench.load import WARMUP_REQUESTS_PER_CLIENT, HttpTarget, SqlTarget, run_burst, run_load
from bench.options import Options
from bench.processes import CpuAccount, cpu_table, pids_named
from bench.server import HOST, WORKERS, GunicornServer
from bench.stats import (
    SUMMARY_HEADERS,
    Check,
    Summary,
    checks_table,
    heading,
    machine_load,
    say,
    software,
    summary_row,
    table,
)

DATABASE, SPOTS = "securemyspot_bench_booking", 50_000
RESERVATION_TABLE = "reservations_reservation"
LIVE_STATUSES = ("pending_payment", "confirmed")
MAX_RESERVATION_ID = 2**53 - 1  # reservations.models: ids a JavaScript client holds exactly
ID_SEED = 42

RACE_CLIENTS, RACE_SPOTS = 200, 20
RACE_PROCESSES = 4  # the race's 200 threads are spread over this many processes
RACE_LEAD = timedelta(hours=1)  # the race books ahead (with a start time), from an hour on
RACE_STAGGER = timedelta(minutes=3)  # between the starts asked for one spot: all overlap
BOOKING_MINUTES = 30

ORIGINAL_PER_SECOND = 125.0  # the issue: the original, 2 workers, no locking
REQUIRED_PER_SECOND = 300.0
P99_UNDER_MS = 200.0
CEILING_FOR_SCALE = "about 11,000 inserts/s with the exclusion constraint"


@dataclass(frozen=True)
class GuestBookingTarget:
    """Guest bookings over HTTP; each job is a path and its JSON body. An answer counts one
    row for a reservation made (201) and none for a spot already taken (400 saying so);
    anything else is an error."""

    host: str
    port: int

    def connect(self) -> http.client.HTTPConnection:
        return HttpTarget(self.host, self.port).connect()

    def perform(self, session: http.client.HTTPConnection, job: tuple[str, bytes]) -> int | None:
        path, body = job
        try:
            session.request("POST", path, body, headers={"Content-Type": "application/json"})
            response = session.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException):
            session.close()
            return None
        if response.status == 201:
            return 1
        if response.status == 400 and b"already reserved" in answer:
            return 0
        return None


def booking_job(spot_id: int, email: str, start: datetime | None = None) -> tuple[str, bytes]:
    reservation: dict[str, object] = {"email": email, "reservation_length": BOOKING_MINUTES}
    if start is not None:
        reservation["start_time"] = start.isoformat()
    return f"/reservation-unauth/{spot_id}/", json.dumps({"reservation": reservation}).encode()


def run(options: Options) -> list[Check]:
    heading("Booking: database")
    database = seeded_database(DATABASE, spots=SPOTS, reseed=options.reseed)
    warmup = WARMUP_REQUESTS_PER_CLIENT * options.clients
    bookings = min(options.requests, SPOTS - warmup)
    spots = active_spots(database, bookings + warmup)
    _print_environment(database, options, bookings)
    with GunicornServer(database.url) as server:
        checks = _race(database, server, [spot_id for spot_id, _ in spots[:RACE_SPOTS]])
        served = _uncontended(database, server, spots, options, bookings)
    checks += _ceiling_comparison(database, served, spots, options, bookings)
    return checks


def _print_environment(database: Database, options: Options, bookings: int) -> None:
    heading("Booking: environment")
    print(f"  {software('Django', 'djangorestframework', 'gunicorn', 'psycopg')}")
    print(f"  PostgreSQL {server_version()} at {HOST}; {database.name}: {SPOTS:,} spots")
    print(f"  {machine_load()}")
    print(
        f"  server: gunicorn, {WORKERS} sync workers; race: {RACE_CLIENTS} clients (threads in "
        f"{RACE_PROCESSES} processes) for {RACE_SPOTS} spots; uncontended: {options.clients} "
        f"clients, {bookings:,} recorded bookings of distinct spots after warm-up"
    )


def _race(database: Database, server: GunicornServer, spot_ids: Sequence[int]) -> list[Check]:
    heading(f"(a) Race: {RACE_CLIENTS} clients released together for {RACE_SPOTS} spots")
    empty_tables(database, RESERVATION_TABLE)
    first_start = (datetime.now(UTC) + RACE_LEAD).replace(second=0, microsecond=0)
    rivals = RACE_CLIENTS // RACE_SPOTS
    print(
        f"  {rivals} clients a spot, asking for {BOOKING_MINUTES} min from "
        f"{first_start:%H:%M} UTC on, each {RACE_STAGGER.seconds // 60} min after the last: "
        "every two periods of a spot overlap"
    )
    jobs = [
        booking_job(
            spot_ids[client % RACE_SPOTS],
            f"racer-{client}@bench.test",
            first_start + client // RACE_SPOTS * RACE_STAGGER,
        )
        for client in range(RACE_CLIENTS)
    ]
    say(f"HTTP: {RACE_CLIENTS} bookings at once")
    race = run_burst(GuestBookingTarget(HOST, server.port), jobs, processes=RACE_PROCESSES)
    winners_by_spot, overlapping = _live_reservations(database, spot_ids)
    won, lost = race.rows, race.completed - race.rows
    print(
        table(
            ("", "answers", "201 reserved", "400 taken", "errors", "p50 ms", "p95 ms", "p99 ms"),
            [
                (
                    f"HTTP, gunicorn x{WORKERS}",
                    f"{race.completed:,}",
                    f"{won:,}",
                    f"{lost:,}",
                    f"{race.errors:,}",
                    f"{race.p50_ms:,.1f}",
                    f"{race.p95_ms:,.1f}",
                    f"{race.p99_ms:,.1f}",
                )
            ],
        )
    )
    live = sum(winners_by_spot.values())
    one_each = len(winners_by_spot) == RACE_SPOTS and set(winners_by_spot.values()) == {1}
    print(
        f"  in PostgreSQL: {live} live reservations on the {RACE_SPOTS} spots "
        f"({'one each' if one_each else 'NOT one each'}); {overlapping} overlapping live pairs"
    )
    checks = [
        Check(
            "(a) race: winners (201)",
            f"{won} of {RACE_CLIENTS}",
            f"exactly {RACE_SPOTS}",
            won == RACE_SPOTS,
        ),
        Check(
            "(a) race: losers told it is taken (400)",
            f"{lost}, {race.errors} errors",
            f"{RACE_CLIENTS - RACE_SPOTS}, 0 errors",
            lost == RACE_CLIENTS - RACE_SPOTS and race.errors == 0,
        ),
        Check(
            "(a) race: live reservations in PostgreSQL",
            f"{live}, {'one a spot' if one_each else 'NOT one a spot'}",
            f"{RACE_SPOTS}, one a spot",
            live == RACE_SPOTS and one_each,
        ),
        Check("(a) race: double bookings (SQL)", f"{overlapping}", "0", overlapping == 0),
    ]
    print(checks_table(checks))
    return checks


def _live_reservations(database: Database, spot_ids: Sequence[int]) -> tuple[dict[int, int], int]:
    """Live reservations of each of the spots, and the pairs of live reservations of any spot
    that share an instant: the double bookings."""
    with psycopg.connect(database.url) as connection:
        by_spot = dict(
            connection.execute(
                f"SELECT spot_id, count(*) FROM {RESERVATION_TABLE}"
                " WHERE spot_id = ANY(%s) AND status = ANY(%s) GROUP BY spot_id",
                (list(spot_ids), list(LIVE_STATUSES)),
            ).fetchall()
        )
        overlapping = connection.execute(
            f"SELECT count(*) FROM {RESERVATION_TABLE} a JOIN {RESERVATION_TABLE} b"
            " ON a.spot_id = b.spot_id AND a.id < b.id"
            " AND a.start_time < b.end_time AND b.start_time < a.end_time"
            " WHERE a.status = ANY(%s) AND b.status = ANY(%s)",
            (list(LIVE_STATUSES), list(LIVE_STATUSES)),
        ).fetchone()[0]
    return by_spot, overlapping


def _uncontended(
    database: Database,
    server: GunicornServer,
    spots: Sequence[tuple[int, Decimal]],
    options: Options,
    bookings: int,
) -> Summary:
    heading(f"(b) Uncontended: {options.clients} clients booking distinct spots")
    empty_tables(database, RESERVATION_TABLE)
    target = GuestBookingTarget(HOST, server.port)
    jobs = [booking_job(spot_id, f"guest-{spot_id}@bench.test") for spot_id, _ in spots]
    say(f"HTTP: {bookings:,} bookings from {options.clients} clients")
    with CpuAccount(
        {
            f"gunicorn: {WORKERS} workers": server.worker_pids,
            "PostgreSQL (whole server)": lambda: pids_named("postgres"),
            "load generator (its client processes)": lambda: [os.getpid()],
        }
    ) as cpu:
        served = run_load(target, jobs, clients=options.clients, requests=bookings)
    made = bookings + WARMUP_REQUESTS_PER_CLIENT * options.clients
    print(f"  CPU over the {cpu.wall_s:,.1f} s of the run, its client start-up and warm-up:")
    print(cpu_table(cpu, made, "booking"))
    return served


def _ceiling_comparison(
    database: Database,
    served: Summary,
    spots: Sequence[tuple[int, Decimal]],
    options: Options,
    bookings: int,
) -> list[Check]:
    made = _reservation_count(database)
    empty_tables(database, RESERVATION_TABLE)
    say(f"SQL ceiling: {bookings:,} INSERTs from {options.clients} psycopg connections")
    ceiling = run_load(
        SqlTarget(database.url),
        _insert_statements(spots),
        clients=options.clients,
        requests=bookings,
    )
    inserted = _reservation_count(database)
    empty_tables(database, RESERVATION_TABLE)
    print(
        f"  for scale: the original answered about {ORIGINAL_PER_SECOND:.0f} bookings/s on "
        f"{WORKERS} workers, with no locking;\n  the issue measured the ceiling at "
        f"{CEILING_FOR_SCALE}"
    )
    print(
        table(
            SUMMARY_HEADERS,
            [
                summary_row(f"HTTP bookings, gunicorn x{WORKERS}", served),
                summary_row("SQL ceiling: INSERT alone, psycopg", ceiling),
            ],
        )
    )
    warmup = WARMUP_REQUESTS_PER_CLIENT * options.clients
    print(
        f"  reservations made: {made:,} by HTTP (incl. {warmup} warm-up), "
        f"{inserted:,} by INSERT; HTTP at {served.per_second / ceiling.per_second:.1%} of the "
        f"ceiling, {served.per_second / ORIGINAL_PER_SECOND:.1f}x the original"
    )
    checks = [
        Check(
            "(b) every booking made a reservation",
            f"{served.rows:,} of {served.completed + served.errors:,}",
            "all",
            served.errors == 0 and served.rows == served.completed,
        ),
        Check(
            "(b) bookings/s",
            f"{served.rows / served.wall_s:,.0f}",
            f">= {REQUIRED_PER_SECOND:.0f}",
            served.rows / served.wall_s >= REQUIRED_PER_SECOND,
        ),
        Check(
            "(b) booking p99",
            f"{served.p99_ms:,.1f} ms",
            f"< {P99_UNDER_MS:.0f} ms",
            served.p99_ms < P99_UNDER_MS,
        ),
        Check(
            "(b) SQL ceiling: INSERT errors",
            f"{ceiling.errors:,}",
            "0",
            ceiling.errors == 0,
        ),
    ]
    print(checks_table(checks))
    return checks


def _insert_statements(spots: Sequence[tuple[int, Decimal]]) -> list[list[str]]:
    """For each spot, the row a guest's booking of it writes, as one plain INSERT."""
    ids = random.Random(ID_SEED)
    return [
        [
            f"INSERT INTO {RESERVATION_TABLE} (id, user_id, email, spot_id, rate, currency,"
            " start_time, end_time, status, hold_expires_at, stripe_customer_id,"
            " stripe_setup_intent_id, stripe_payment_method_id, card_brand, card_last4,"
            " reminded_for_end_time, amount_cents, fee_waived, confirmed_at, finished_at,"
            " created_at, updated_at, announced)"
            f" VALUES ({ids.randint(1, MAX_RESERVATION_ID)}, NULL, 'guest-{spot_id}@bench.test',"
            f" {spot_id}, {rate}, 'usd', now(), now() + interval '{BOOKING_MINUTES} minutes',"
            " 'pending_payment', now() + interval '15 minutes', '', NULL, '', '', '', NULL,"
            " NULL, false, NULL, NULL, now(), now(), 0)"
            " RETURNING id"
        ]
        for spot_id, rate in spots
    ]


def _reservation_count(database: Database) -> int:
    with psycopg.connect(database.url) as connection:
        return connection.execute(f"SELECT count(*) FROM {RESERVATION_TABLE}").fetchone()[0]
