"""Live availability (/ws/availability/) at city scale, beside the polling it replaces.

On PostgreSQL, RabbitMQ and Redis (``REDIS_URL``: the channels-redis layer), with the servers
as the Procfile runs them: gunicorn (2 workers) for the API, uvicorn (one process) for the
sockets, a Celery worker and beat for the engine. N maps (``--sockets``), spread over a few
client processes, each watch a random box about 1 km across in Manhattan, while guests book
spots through the API and the engine ends running reservations, together ``--rate`` changes a
second for ``--seconds``:

- latency from each change (its event's ``created_at``, written in the change's transaction)
  to each map it reaches (the same machine's clock); messages delivered a second; the socket
  server's memory per idle socket and CPU per message;
- at the end, every map's view (its snapshot with every change applied) against what the
  database says is available in its box: nothing missed, stale or received twice;
- a reconnect storm: every socket closed at once, every map resubscribing with ``since``;
- the polling baseline: the same maps asking the filter route every 5 s, as the original
  client does: what that needs, what gunicorn sustains, and how stale it leaves a map.
"""

import http.client
import math
import resource
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench.booking import GuestBookingTarget, booking_job
from bench.broker import Broker, scratch_broker
from bench.databases import Database, empty_tables, seeded_database, server_version
from bench.engine import ENGINE_TABLES
from bench.live_clients import Fleets
from bench.load import HttpTarget, run_load
from bench.options import Options
from bench.processes import CpuAccount, cpu_seconds, cpu_table, free_port, pids_named
from bench.project import DjangoProcess, django_env
from bench.search import search_path
from bench.server import CONN_MAX_AGE_S, HOST, WORKERS, GunicornServer, memory_of, socket_server
from bench.stats import (
    SUMMARY_HEADERS,
    Check,
    checks_table,
    heading,
    machine_load,
    percentile,
    say,
    software,
    summary_row,
    table,
)
from bench.worker import WORKER_PROCESSES, CeleryEngine

DATABASE, SPOTS = "securemyspot_bench_live", 100_000
VHOST = "securemyspot-bench-live"
BOX_SEED, SPOT_SEED = 42, 43
EVENT_TABLES = (
    "spots_availabilityevent",
    "spots_availabilitysequence",
    "reservations_reservationevent",
    "reservations_reservationeventsequence",
)
MAPS_PER_PROCESS = 1250
OPEN_FILES_BESIDE_SOCKETS = 4096  # the server's database connections, logs, pipes
WARMUP_SOCKETS = 10
SETTLE_S = 2.0  # for the sockets' memory to settle, and the last batches to arrive
PROGRESS_EVERY_S = 5.0
DONE_POLL_S = 0.5
BOOKING_THREADS = 4
# The engine's running reservations end from the run's start on; inserted ending far ahead.
PARKED_END = timedelta(hours=2)
RESERVATION_MINUTES = 180
ENDS_TIMEOUT_S = 60.0

POLL_EVERY_S = 5.0  # the original client's polling interval
POLL_QUERY = {"unit": "km", "dist": "0.5"}  # about the box each map watches

# The socket server's own delay figures (live/metrics.py), from each event's write: to its
# relay reading it (by kind), and to the changes message holding it being written to a socket.
SERVER_DELAYS = {
    "securemyspot_live_event_read_delay_seconds:taken": "taken: read by the relay (per event)",
    "securemyspot_live_event_read_delay_seconds:freed": "freed: read by the relay (per event)",
    "securemyspot_live_changes_written_delay_seconds": "written to the socket (per message)",
}
SERVER_DELAY_HEADERS = ("p50 ms <=", "p95 ms <=", "p99 ms <=")

P99_UNDER_MS = 500.0
MEMORY_PER_SOCKET_UNDER_KB = 64.0
STORM_CURRENT_WITHIN_S = 15.0
ISSUE_SOCKETS, ISSUE_RATE = 5000, 100.0


@dataclass(frozen=True)
class Changes:
    """What the drivers did: guest bookings through the API, reservations the engine ended."""

    booked: int
    refused: int  # the API answered otherwise than 201
    ended: int
    first_seq: int  # the last event before the run
    last_seq: int  # the last event after it


def run(options: Options) -> list[Check]:
    heading("Live: database")
    _raise_open_files_limit(options.sockets)
    database = seeded_database(DATABASE, spots=SPOTS, reseed=options.reseed)
    empty_tables(database, *ENGINE_TABLES, *EVENT_TABLES)
    bookings = round(options.rate / 2 * options.seconds)
    ends = round(options.rate / 2 * options.seconds)
    with DjangoProcess(database.url) as django:
        boxes = django.run("bench.live_django.subscriber_boxes", options.sockets, BOX_SEED)
        booked_spots, ending_spots = django.run(
            "bench.live_django.changing_spots", bookings, ends, SPOT_SEED
        )
        say(f"parking {ends:,} running reservations for the engine to end")
        django.run(
            "bench.engine_django.insert_confirmed_reservations",
            spot_ids=ending_spots,
            ends=[datetime.now(UTC) + PARKED_END] * ends,
            minutes=[RESERVATION_MINUTES] * ends,
            cards=None,
        )
    _mark_started(database)
    _print_environment(options)
    with scratch_broker(VHOST) as broker:
        return _measure(database, broker, options, boxes, booked_spots, ends)


def _raise_open_files_limit(sockets: int) -> None:
    """Thousands of sockets, each a file on both sides: the soft limit (often 1,024) raised for
    this process and every server and client it starts, which inherit it. Beyond the hard
    limit only where the process may (root); else to the hard limit, with a warning."""
    needed = sockets + OPEN_FILES_BESIDE_SOCKETS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        say(f"open files limit: {soft:,}")
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(hard, needed)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        say(f"open files limit: {hard:,}, the hard limit: under the {needed:,} the sockets need")
        return
    say(f"open files limit: {needed:,}")


def _mark_started(database: Database) -> None:
    """The parked reservations' start is announced already (as a booking starting now is):
    the clock sweep is to announce only their ends."""
    with psycopg.connect(database.url, autocommit=True) as connection:
        connection.execute("UPDATE reservations_reservation SET announced = 1")


def _print_environment(options: Options) -> None:
    heading("Live: environment")
    print(f"  {software('Django', 'channels', 'channels-redis', 'uvicorn', 'websockets')}")
    print(f"  PostgreSQL {server_version()}; RabbitMQ virtual host {VHOST}; Redis")
    print(f"  {machine_load()}")
    print(
        f"  servers: gunicorn x{WORKERS} (API), uvicorn x1 (sockets), Celery worker "
        f"x{WORKER_PROCESSES} + beat (engine); {options.sockets:,} maps in "
        f"{_processes(options.sockets)} client processes; {options.rate:g} changes/s "
        f"(half bookings through the API, half ends by the engine) for {options.seconds} s"
    )


def _processes(sockets: int) -> int:
    return max(2, math.ceil(sockets / MAPS_PER_PROCESS))


def _measure(
    database: Database,
    broker: Broker,
    options: Options,
    boxes: Sequence[tuple[float, float, float, float]],
    booked_spots: Sequence[int],
    ends: int,
) -> list[Check]:
    services = {"REDIS_URL": broker.redis_url, "CELERY_BROKER_URL": broker.celery_broker_url}
    metrics_token = secrets.token_hex(16)
    env = django_env(
        database.url, CONN_MAX_AGE=CONN_MAX_AGE_S, METRICS_TOKEN=metrics_token, **services
    )
    socket_port = free_port()
    sockets_url = f"ws://{HOST}:{socket_port}/ws/availability/"
    with (
        GunicornServer(database.url, **services) as gunicorn,
        CeleryEngine("live", env) as engine,
        socket_server(socket_port, env) as uvicorn,
    ):
        say("warming the socket server up")
        with Fleets(sockets_url, boxes[:WARMUP_SOCKETS], 1) as warmup:
            warmup.ask("open")
            warmup.ask("close")
        before = memory_of(uvicorn.pid)
        processes = _processes(len(boxes))
        with Fleets(sockets_url, boxes, processes) as fleets:
            say(f"opening {len(boxes):,} sockets from {processes} processes, each subscribing")
            opened = _merged(fleets.ask("open"))
            time.sleep(SETTLE_S)
            after = memory_of(uvicorn.pid)
            per_socket_kb = (after.rss_mb - before.rss_mb) * 1024 / len(boxes)
            say(
                f"answers: {opened}; socket server RSS {before.rss_mb:,.1f} -> "
                f"{after.rss_mb:,.1f} MB: {per_socket_kb:,.1f} KB a socket"
            )
            groups = {
                "socket server (uvicorn)": lambda: [uvicorn.pid],
                f"API (gunicorn x{WORKERS})": gunicorn.worker_pids,
                "engine (Celery worker + beat)": lambda: [
                    *engine.worker_pids(),
                    *engine.beat_pids(),
                ],
                "PostgreSQL (whole server)": lambda: pids_named("postgres"),
                "Redis (whole server)": lambda: pids_named("redis-server"),
                f"map clients ({processes} processes)": lambda: fleets.pids,
            }
            fleets.ask("record", True)
            delays_before = _server_delays(socket_port, metrics_token)
            with CpuAccount(groups) as cpu:
                socket_cpu_before = cpu_seconds(uvicorn.pid)
                changes = _drive_changes(
                    database, gunicorn.port, booked_spots, ends, fleets, options
                )
                socket_cpu_s = cpu_seconds(uvicorn.pid) - socket_cpu_before
            delays = _delays_between(delays_before, _server_delays(socket_port, metrics_token))
            fleets.ask("record", False)
            messages = fleets.messages()
            views = _merged(fleets.ask("views", _available(database, boxes)))
            latencies = _latencies(database, fleets, changes)
            checks = _report_run(
                options,
                opened,
                per_socket_kb,
                changes,
                cpu,
                socket_cpu_s,
                messages,
                views,
                latencies,
                delays,
            )
            checks += _storm(database, fleets, boxes)
        checks += _polling(gunicorn.port, boxes, options, latencies)
    print(checks_table(checks))
    return checks


def _merged(answers: Sequence[dict]) -> dict:
    merged: dict = {}
    for answer in answers:
        for key, value in answer.items():
            merged[key] = merged.get(key, 0) + value
    return merged


def _current_seq(connection: psycopg.Connection) -> int:
    row = connection.execute("SELECT coalesce(max(seq), 0) FROM spots_availabilityevent")
    return row.fetchone()[0]


def _drive_changes(
    database: Database,
    port: int,
    booked_spots: Sequence[int],
    ends: int,
    fleets: Fleets,
    options: Options,
) -> Changes:
    """Bookings through the API at half the rate, paced on a schedule from the start; the
    parked reservations' end times moved to fall at the other half over the run, for the
    engine to end. Returns once every booking is answered and every end is ended."""
    with psycopg.connect(database.url, autocommit=True) as connection:
        first_seq = _current_seq(connection)
        started = time.time()
        _schedule_ends(connection, started, ends, options.seconds)
        results: list[int | None] = []
        threads = [
            threading.Thread(
                target=_book,
                args=(port, booked_spots[index::BOOKING_THREADS], index, started, options, results),
            )
            for index in range(BOOKING_THREADS)
        ]
        for thread in threads:
            thread.start()
        say(f"driving {options.rate:g} changes/s for {options.seconds} s")
        deadline = started + options.seconds + ENDS_TIMEOUT_S
        next_report = started + PROGRESS_EVERY_S
        while time.time() < deadline:
            time.sleep(DONE_POLL_S)
            ended = _ended(connection)
            done = len(results) >= len(booked_spots) and ended >= ends
            if done or time.time() >= next_report:
                say(
                    f"+{time.time() - started:4.0f} s: {len(results):,} booked, {ended:,} ended, "
                    f"seq {_current_seq(connection) - first_seq:,}, "
                    f"{fleets.messages():,} messages at the maps"
                )
                next_report += PROGRESS_EVERY_S
            if done:
                break
        for thread in threads:
            thread.join(timeout=ENDS_TIMEOUT_S)
        time.sleep(SETTLE_S)
        return Changes(
            booked=sum(result == 1 for result in results),
            refused=sum(result != 1 for result in results),
            ended=_ended(connection),
            first_seq=first_seq,
            last_seq=_current_seq(connection),
        )


def _schedule_ends(connection: psycopg.Connection, started: float, ends: int, seconds: int) -> None:
    moments = [
        datetime.fromtimestamp(started + (index + 0.5) * seconds / ends, UTC)
        for index in range(ends)
    ]
    connection.execute(
        "UPDATE reservations_reservation r SET end_time = e.at, reminded_for_end_time = e.at"
        " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM reservations_reservation"
        "  WHERE status = 'confirmed') ids"
        " JOIN unnest(%s::timestamptz[]) WITH ORDINALITY AS e(at, n) ON e.n = ids.n"
        " WHERE r.id = ids.id",
        (moments,),
    )


def _ended(connection: psycopg.Connection) -> int:
    row = connection.execute(
        "SELECT count(*) FROM reservations_reservation WHERE finished_at IS NOT NULL"
    )
    return row.fetchone()[0]


def _book(
    port: int,
    spot_ids: Sequence[int],
    thread: int,
    started: float,
    options: Options,
    results: list[int | None],
) -> None:
    """One thread's share of the bookings, each at its moment on the run's schedule."""
    target = GuestBookingTarget(HOST, port)
    session = target.connect()
    interval = 2 / options.rate
    for index, spot_id in enumerate(spot_ids):
        moment = started + (index * BOOKING_THREADS + thread) * interval
        time.sleep(max(moment - time.time(), 0.0))
        job = booking_job(spot_id, f"live-{thread}-{index}@bench.test")
        results.append(target.perform(session, job))  # list.append is atomic


def _available(
    database: Database, boxes: Sequence[tuple[float, float, float, float]]
) -> list[tuple[int, float, float]]:
    """Every spot available now in the smallest box holding all the maps' boxes."""
    union = (
        min(box[0] for box in boxes),
        min(box[1] for box in boxes),
        max(box[2] for box in boxes),
        max(box[3] for box in boxes),
    )
    with DjangoProcess(database.url) as django:
        return django.run("bench.live_django.available_placed_spots", union)


def _latencies(database: Database, fleets: Fleets, changes: Changes) -> dict[str, list[float]]:
    """Every change's latency at every map it reached, in seconds, sorted: "taken" (the
    bookings), "shown" (the ends: freed) and "all"."""
    with psycopg.connect(database.url) as connection:
        rows = connection.execute(
            "SELECT spot_id, seq, extract(epoch FROM created_at) FROM spots_availabilityevent"
            " WHERE seq > %s ORDER BY seq",
            (changes.first_seq,),
        ).fetchall()
    stamps: dict[int, list[tuple[int, float]]] = {}
    for spot_id, seq, created in rows:
        stamps.setdefault(spot_id, []).append((seq, float(created)))
    parts = fleets.ask("latencies", stamps)
    by_kind = {
        kind: sorted(latency for part in parts for latency in part[kind])
        for kind in ("taken", "shown")
    }
    return {**by_kind, "all": sorted(by_kind["taken"] + by_kind["shown"])}


def _report_run(
    options: Options,
    opened: dict,
    per_socket_kb: float,
    changes: Changes,
    cpu: CpuAccount,
    socket_cpu_s: float,
    messages: int,
    views: dict,
    latencies: dict[str, list[float]],
    delays: dict[str, list[tuple[float, float]]],
) -> list[Check]:
    heading(f"Live: {options.sockets:,} maps, {options.rate:g} changes/s for {options.seconds} s")
    events = changes.last_seq - changes.first_seq
    print(
        f"  changes: {changes.booked:,} booked through the API ({changes.refused:,} refused), "
        f"{changes.ended:,} ended by the engine; {events:,} events, "
        f"{events / options.seconds:,.1f}/s over the {options.seconds} s; measured over "
        f"{cpu.wall_s:,.0f} s, to the last end and its delivery"
    )
    p99 = percentile(latencies["all"], 99) * 1000
    labels = {
        "taken": "taken: a booking through the API",
        "shown": "freed: an end by the engine's sweep",
        "all": "every change at every map it reaches",
    }
    print(
        table(
            ("commit to map", "deliveries", "p50 ms", "p95 ms", "p99 ms", "max ms"),
            [_latency_row(label, latencies[kind]) for kind, label in labels.items()],
        )
    )
    print(
        table(
            ("in the socket server, from the write", "count", *SERVER_DELAY_HEADERS),
            [
                (
                    label,
                    f"{int(delays[name][-1][1]):,}" if delays[name] else "0",
                    *(_bucket_percentile(delays[name], share) for share in (50, 95, 99)),
                )
                for name, label in SERVER_DELAYS.items()
            ],
        )
    )
    print(
        "  (the socket server's histograms: each figure is its bucket's upper bound; the rest of"
        " commit to map is the network and the map's own event loop)"
    )
    per_message_ms = socket_cpu_s * 1000 / messages if messages else math.nan
    print(
        f"  messages delivered: {messages:,}, {messages / cpu.wall_s:,.0f}/s; socket server CPU "
        f"{socket_cpu_s:,.1f} s: {per_message_ms:,.3f} ms a message"
    )
    print(f"  server memory: {per_socket_kb:,.1f} KB per idle socket (RSS growth / sockets)")
    print(cpu_table(cpu, max(messages, 1), "message"))
    print(
        f"  views at the end ({views['maps']:,} maps): {views['missed']:,} missed, "
        f"{views['stale']:,} stale, {views['repeated']:,} events received twice, "
        f"{views['duplicate_ids']:,} ids twice in a snapshot, {views['gaps']:,} gaps"
    )
    at_scale = f"at {options.sockets:,} sockets, {options.rate:g}/s"
    if (options.sockets, options.rate) != (ISSUE_SOCKETS, ISSUE_RATE):
        at_scale += f" (issue: {ISSUE_SOCKETS:,}, {ISSUE_RATE:g}/s)"
    failed_opens = sum(count for answer, count in opened.items() if answer != "snapshot")
    return [
        Check(
            "sockets opened and subscribed",
            f"{opened.get('snapshot', 0):,}",
            f"{options.sockets:,}",
            failed_opens == 0,
        ),
        Check(
            f"commit-to-map p99 {at_scale}",
            f"{p99:,.0f} ms",
            f"< {P99_UNDER_MS:g} ms",
            p99 < P99_UNDER_MS,
        ),
        Check(
            "server memory per idle socket",
            f"{per_socket_kb:,.1f} KB",
            f"< {MEMORY_PER_SOCKET_UNDER_KB:g} KB",
            per_socket_kb < MEMORY_PER_SOCKET_UNDER_KB,
        ),
        Check(
            "views: missed / stale",
            f"{views['missed']:,} / {views['stale']:,}",
            "0 / 0",
            views["missed"] == views["stale"] == 0,
        ),
        Check(
            "views: duplicated / gaps",
            f"{views['repeated'] + views['duplicate_ids']:,} / {views['gaps']:,}",
            "0 / 0",
            views["repeated"] + views["duplicate_ids"] + views["gaps"] == 0,
        ),
    ]


def _server_delays(port: int, token: str) -> dict[str, list[tuple[float, float]]]:
    """The socket server's delay histograms at ``/metrics``: for each (by kind, where it has
    one), its buckets as (upper bound in seconds, observations up to it)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    delays: dict[str, list[tuple[float, float]]] = {name: [] for name in SERVER_DELAYS}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            name = family.name
            if "kind" in sample.labels:
                name += f":{sample.labels['kind']}"
            if name in delays:
                delays[name].append((float(sample.labels["le"]), sample.value))
    return delays


def _delays_between(
    before: dict[str, list[tuple[float, float]]], after: dict[str, list[tuple[float, float]]]
) -> dict[str, list[tuple[float, float]]]:
    return {
        name: [(bound, count - dict(before[name]).get(bound, 0.0)) for bound, count in after[name]]
        for name in after
    }


def _bucket_percentile(buckets: Sequence[tuple[float, float]], share: float) -> str:
    """The upper bound of the bucket holding the percentile, in ms ("> 10,000" past the last)."""
    if not buckets or not buckets[-1][1]:
        return "-"
    rank = share / 100 * buckets[-1][1]
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return f"> {buckets[-2][0] * 1000:,.0f}"
            return f"{bound * 1000:,.0f}"
    return "-"


def _latency_row(label: str, latencies: Sequence[float]) -> tuple[str, ...]:
    return (
        label,
        f"{len(latencies):,}",
        *(f"{percentile(latencies, share) * 1000:,.0f}" for share in (50, 95, 99)),
        f"{max(latencies, default=math.nan) * 1000:,.0f}",
    )


def _storm(database: Database, fleets: Fleets, boxes: Sequence) -> list[Check]:
    heading(f"Live: reconnect storm, {len(boxes):,} sockets closed at once")
    with psycopg.connect(database.url) as connection:
        target = _current_seq(connection)
    say("closing every socket; each resubscribes at once with since")
    started = time.monotonic()
    storms = fleets.ask("storm", started)
    answers = _merged([storm["answers"] for storm in storms])
    seconds = sorted(second for storm in storms for second in storm["seconds"])
    gaps = sum(storm["gaps"] for storm in storms)
    behind = sum(seq is None or seq < target for storm in storms for seq in storm["seqs"])
    current_s = max(seconds, default=math.inf)
    print(
        f"  answers: {answers}; every map current (seq >= {target:,}) "
        f"{current_s:,.1f} s after the close (p50 {percentile(seconds, 50):,.1f} s); "
        f"{behind:,} behind; {gaps:,} gaps"
    )
    views = _merged(fleets.ask("views", _available(database, boxes)))
    print(f"  views after: {views['missed']:,} missed, {views['stale']:,} stale")
    resumed = answers.get("changes", 0)
    return [
        Check(
            "storm: every map current",
            f"{current_s:,.1f} s",
            f"within {STORM_CURRENT_WITHIN_S:g} s",
            current_s < STORM_CURRENT_WITHIN_S and behind == 0,
        ),
        Check(
            "storm: resumed with since, no gaps",
            f"{resumed:,} resumed, {gaps:,} gaps",
            f"{len(boxes):,}, 0",
            resumed == len(boxes) and gaps == 0,
        ),
        Check(
            "storm: views missed / stale after",
            f"{views['missed']:,} / {views['stale']:,}",
            "0 / 0",
            views["missed"] == views["stale"] == 0,
        ),
    ]


def _polling(
    port: int, boxes: Sequence, options: Options, latencies: dict[str, list[float]]
) -> list[Check]:
    heading(f"Polling baseline: the same {len(boxes):,} maps asking every {POLL_EVERY_S:g} s")
    paths = [
        search_path(round((south + north) / 2, 6), round((west + east) / 2, 6), POLL_QUERY)
        for south, west, north, east in boxes
    ]
    say(f"the filter route: {options.requests:,} requests from {options.clients} clients")
    served = run_load(
        HttpTarget(HOST, port), paths, clients=options.clients, requests=options.requests
    )
    print(table(SUMMARY_HEADERS, [summary_row(f"filter route, gunicorn x{WORKERS}", served)]))
    needed = len(boxes) / POLL_EVERY_S
    # A map sees a change at its next answered poll: polls come every interval (longer when
    # the server cannot keep up), a change falls anywhere in one.
    interval = max(POLL_EVERY_S, len(boxes) / served.per_second)
    stale_p50 = interval * 0.50 + served.p50_ms / 1000
    stale_p99 = interval * 0.99 + served.p99_ms / 1000
    live_p50, live_p99 = (percentile(latencies["all"], share) for share in (50, 99))
    print(
        table(
            ("", "requests/s needed", "sustained", "staleness p50 s", "p99 s"),
            [
                (
                    f"polling every {POLL_EVERY_S:g} s",
                    f"{needed:,.0f}",
                    f"{served.per_second:,.0f}",
                    f"{stale_p50:,.2f}",
                    f"{stale_p99:,.2f}",
                ),
                ("live sockets (measured above)", "0", "", f"{live_p50:,.2f}", f"{live_p99:,.2f}"),
            ],
        )
    )
    print(
        f"  polling staleness: uniform over a poll interval of {interval:,.1f} s "
        f"({'5 s' if interval == POLL_EVERY_S else 'the server cannot keep up: maps / sustained'}"
        ") plus the route's answer time"
    )
    return []
