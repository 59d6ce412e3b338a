"""Parking-spot search at city scale, through the real HTTP stack.

A million seeded spots (40 % of them in Manhattan) behind gunicorn with 2 workers, loaded from
loopback at random points:

(a) the 50 nearest within 1 km, in Manhattan;
(b) everything within 0.5 mi, in Manhattan (thousands of spots);
(c) everything within 1 km, in Staten Island (sparse).

Each HTTP figure stands beside the ceiling: the very SQL the endpoint ran for the same point,
replayed straight against PostgreSQL with the same concurrency. Then, at 100,000 spots, the
index-backed search against the naive one (every row's distance in Python, as the original
did), and the full list streamed through HTTP, with the workers' memory.
"""

import http.client
import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import psycopg

from bench.databases import Database, seeded_database, server_version, spot_count, spot_storage
from bench.load import HttpTarget, SqlTarget, run_load
from bench.options import Options
from bench.project import DjangoProcess
from bench.server import HOST, WORKERS, GunicornServer, WorkerMemory
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

CITY_DATABASE, CITY_SPOTS = "securemyspot_bench_1m", 1_000_000
SMALL_DATABASE, SMALL_SPOTS = "securemyspot_bench_100k", 100_000
POINT_SEED = 42
POINTS_PER_AREA = 64  # requests cycle through them; capturing the SQL runs each once
SAMPLE_TRIES = 20
PLAN_LINE_WIDTH = 130
SEARCH_PATH = "/available-parking-spots-filter"
LIST_PATH = "/available-parking-spots/"

NAIVE_RUNS = 5
INDEXED_RUNS = 500
NAIVE_RADIUS_M = 1000.0
NAIVE_QUERY = {"unit": "km", "dist": "1"}  # the same search, through the endpoint's SQL
REQUIRED_SPEEDUP = 100

LIST_CLIENTS = 2
LIST_REQUESTS = 20
LIST_WARMUP_PER_CLIENT = 1
ORIGINAL_LIST_PER_SECOND = 0.40
REQUIRED_LIST_SPEEDUP = 20
MAX_WORKER_GROWTH_MB = 50


def search_path(lat: float, lng: float, query: dict[str, str]) -> str:
    return f"{SEARCH_PATH}?{urlencode({'lat': lat, 'lng': lng, **query})}"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    area: str  # a key of bench.search_django.AREAS
    query: dict[str, str]
    share_of_ceiling: float  # the HTTP requests/s must reach this share of the SQL's
    p95_under_ms: float | None = None
    for_scale: str = ""  # what the issue measured earlier, to read the figures against

    def path(self, lat: float, lng: float) -> str:
        return search_path(lat, lng, self.query)

    @property
    def limit(self) -> int | None:
        return int(self.query["limit"]) if "limit" in self.query else None


SCENARIOS = (
    Scenario(
        "a",
        "the 50 nearest within 1 km, Manhattan below 59th St",
        "manhattan",
        {"unit": "km", "dist": "1", "limit": "50"},
        share_of_ceiling=0.30,
        p95_under_ms=15.0,
        for_scale="PostgreSQL alone at about 2,800/s with a PostGIS GiST KNN index, "
        "1,260/s with cube/earthdistance",
    ),
    Scenario(
        "b",
        "everything within 0.5 mi, Manhattan below 59th St",
        "manhattan",
        {"unit": "mi", "dist": "0.5"},
        share_of_ceiling=0.25,
        for_scale="PostgreSQL alone at about 340/s with a covering partial index, "
        "for about 4,000 spots an answer",
    ),
    Scenario(
        "c",
        "everything within 1 km, Staten Island (sparse)",
        "staten-island",
        {"unit": "km", "dist": "1"},
        share_of_ceiling=0.25,
    ),
)


def run(options: Options) -> list[Check]:
    heading("Search: databases")
    city = seeded_database(CITY_DATABASE, spots=CITY_SPOTS, reseed=options.reseed)
    small = seeded_database(SMALL_DATABASE, spots=SMALL_SPOTS, reseed=options.reseed)
    _print_environment([city, small], options)
    return [
        *_search_scenarios(city, options),
        *_naive_comparison(small),
        *_full_list(small),
    ]


def _print_environment(databases: Sequence[Database], options: Options) -> None:
    heading("Search: environment")
    print(f"  {software('Django', 'djangorestframework', 'gunicorn', 'psycopg')}")
    print(f"  PostgreSQL {server_version()} at {HOST}")
    for database in databases:
        print(
            f"  {database.name}: {spot_count(database):,} spots ({spot_storage(database)})",
        )
    print(f"  {machine_load()}")
    print(
        f"  server: gunicorn, {WORKERS} sync workers; load: {options.clients} clients, "
        f"{options.requests:,} recorded requests per run after warm-up, each client its own "
        "process"
    )


def _search_scenarios(city: Database, options: Options) -> list[Check]:
    with DjangoProcess(city.url) as django:
        points = {
            area: django.run("bench.search_django.query_points", area, POINTS_PER_AREA, POINT_SEED)
            for area in dict.fromkeys(scenario.area for scenario in SCENARIOS)
        }
        statements = {}
        for scenario in SCENARIOS:
            say(
                f"({scenario.key}): capturing the SQL the endpoint runs at {POINTS_PER_AREA} points"
            )
            statements[scenario.key] = django.run(
                "bench.search_django.endpoint_sql",
                [scenario.path(lat, lng) for lat, lng in points[scenario.area]],
            )
    _print_plan(city, statements["b"][0][-1])
    checks = []
    with GunicornServer(city.url) as server:
        for scenario in SCENARIOS:
            paths = [scenario.path(lat, lng) for lat, lng in points[scenario.area]]
            checks += _measure(scenario, server, city, paths, statements[scenario.key], options)
    return checks


def _print_plan(database: Database, statement: str) -> None:
    """The plan of one (b) search, to show where PostgreSQL's time goes."""
    heading("(b) query plan: EXPLAIN (ANALYZE, BUFFERS), one point")
    with psycopg.connect(database.url) as connection:
        plan = [
            row[0]
            for row in connection.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}").fetchall()
        ]
    wanted = ("Scan", "Heap Fetches", "Sort Method", "Anti Join", "Planning Time", "Execution")
    for line in plan:
        if any(word in line for word in wanted):
            print(f"  {_shortened(line.rstrip(), PLAN_LINE_WIDTH)}")
    index_only = any("Index Only Scan using spot_active_geo_idx" in line for line in plan)
    expected = "as expected" if index_only else "expected an Index Only Scan on spot_active_geo_idx"
    print(f"  -> {'Index Only Scan' if index_only else 'NOT an index-only scan'} ({expected})")


def _shortened(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _measure(
    scenario: Scenario,
    server: GunicornServer,
    city: Database,
    paths: Sequence[str],
    statements: Sequence[Sequence[str]],
    options: Options,
) -> list[Check]:
    heading(f"({scenario.key}) {scenario.title}, {CITY_SPOTS:,} spots")
    if scenario.for_scale:
        print(f"  for scale, the issue measured: {scenario.for_scale}")
    sample_check = _check_sample(scenario, server.port, city, paths, statements)
    say(f"HTTP: {options.requests:,} requests from {options.clients} clients")
    served = run_load(
        HttpTarget(HOST, server.port), paths, clients=options.clients, requests=options.requests
    )
    say(f"SQL ceiling: the same statements, {options.clients} psycopg connections")
    ceiling = run_load(
        SqlTarget(city.url), statements, clients=options.clients, requests=options.requests
    )
    print(
        table(
            SUMMARY_HEADERS,
            [
                summary_row(f"HTTP, gunicorn x{WORKERS}", served),
                summary_row("SQL ceiling, PostgreSQL", ceiling),
            ],
        )
    )
    checks = [sample_check, *_scenario_checks(scenario, served, ceiling)]
    print(checks_table(checks))
    return checks


def _scenario_checks(scenario: Scenario, served: Summary, ceiling: Summary) -> list[Check]:
    share = served.per_second / ceiling.per_second
    checks = [
        Check(f"({scenario.key}) HTTP errors", f"{served.errors:,}", "0", served.errors == 0),
        Check(
            f"({scenario.key}) HTTP req/s, share of ceiling",
            f"{share:.0%}",
            f">= {scenario.share_of_ceiling:.0%}",
            share >= scenario.share_of_ceiling,
        ),
    ]
    if scenario.p95_under_ms is not None:
        checks.append(
            Check(
                f"({scenario.key}) HTTP p95",
                f"{served.p95_ms:.1f} ms",
                f"< {scenario.p95_under_ms:g} ms",
                served.p95_ms < scenario.p95_under_ms,
            )
        )
    return checks


def _check_sample(
    scenario: Scenario,
    port: int,
    city: Database,
    paths: Sequence[str],
    statements: Sequence[Sequence[str]],
) -> Check:
    """One answer is valid JSON, nearest first, within the limit, and exactly what the replayed
    SQL returns: the ceiling measures the same work. The first point with any spots near it is
    the sample (near the shore a sparse circle may hold none)."""
    index, spots = _sample_answer(port, paths)
    path, request_statements = paths[index], statements[index]
    replayed = json.loads("[" + ",".join(_replay(city, request_statements)) + "]")
    distances = [spot["distance"] for spot in spots]
    nearest_first = bool(spots) and distances == sorted(distances)
    within_limit = scenario.limit is None or len(spots) <= scenario.limit
    print(f"  sample: GET {path}")
    if spots:
        print(
            f"  answered {len(spots):,} spots, {distances[0]} to {distances[-1]} "
            f"{scenario.query['unit']} away, with {len(request_statements)} SQL statement(s)"
        )
    return Check(
        f"({scenario.key}) answer: JSON, nearest first, = SQL",
        f"{len(spots):,} spots, {'ok' if nearest_first and within_limit else 'wrong'}, "
        f"{'same' if spots == replayed else 'DIFFERENT'}",
        "all ok",
        nearest_first and within_limit and spots == replayed,
    )


def _sample_answer(port: int, paths: Sequence[str]) -> tuple[int, list[dict]]:
    """The index of the first path (of the first few) whose answer holds a spot, and that
    answer; else the first path's empty answer."""
    for index, path in enumerate(paths[:SAMPLE_TRIES]):
        spots = json.loads(_get(port, path))
        if spots:
            return index, spots
    return 0, []


def _replay(database: Database, statements: Sequence[str]) -> list[str]:
    """The JSON rows the last of a request's statements returns, replayed with psycopg."""
    with psycopg.connect(database.url, autocommit=True) as connection:
        for statement in statements:
            rows = connection.execute(statement.encode()).fetchall()
    return [row[0] for row in rows]


def _get(port: int, path: str) -> bytes:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
    return body


def _naive_comparison(small: Database) -> list[Check]:
    heading(f"Index-backed search vs the naive way, everything within 1 km, {SMALL_SPOTS:,} spots")
    with DjangoProcess(small.url) as django:
        points = django.run(
            "bench.search_django.query_points", "manhattan", POINTS_PER_AREA, POINT_SEED
        )
        statements = django.run(
            "bench.search_django.endpoint_sql",
            [search_path(lat, lng, NAIVE_QUERY) for lat, lng in points],
        )
        say(f"naive: {NAIVE_RUNS} searches, each loading every spot; then {INDEXED_RUNS} indexed")
        naive, indexed, disagreements = django.run(
            "bench.search_django.naive_versus_indexed",
            points,
            NAIVE_RADIUS_M,
            NAIVE_RUNS,
            INDEXED_RUNS,
        )
    say(f"the index-backed search's SQL alone, {INDEXED_RUNS} times")
    sql_alone = run_load(SqlTarget(small.url), statements, clients=1, requests=INDEXED_RUNS)
    print(
        "  one search at a time, no HTTP; for scale, the issue measured the original at about "
        "1 s a search"
    )
    print(
        table(
            SUMMARY_HEADERS,
            [
                summary_row("naive: every spot, haversine in Python", naive),
                summary_row("index-backed: selector + JSON rows, Django", indexed),
                summary_row("index-backed: its SQL alone, psycopg", sql_alone),
            ],
        )
    )
    speedup = naive.p50_ms / indexed.p50_ms
    checks = [
        Check(
            "index-backed vs naive (p50)",
            f"{speedup:,.0f}x",
            f">= {REQUIRED_SPEEDUP}x",
            speedup >= REQUIRED_SPEEDUP,
        ),
        Check(
            "index-backed finds the naive's spots",
            f"{NAIVE_RUNS - disagreements} of {NAIVE_RUNS} points",
            "all",
            disagreements == 0,
        ),
    ]
    print(checks_table(checks))
    return checks


def _full_list(small: Database) -> list[Check]:
    heading(f"Full list GET {LIST_PATH}, {SMALL_SPOTS:,} spots, streamed")
    with GunicornServer(small.url) as server:
        # Each worker imports the URLconf and opens its database connection on its first
        # request: done before "before", so the growth measured is the list's alone.
        run_load(HttpTarget(HOST, server.port), ["/healthz"], clients=WORKERS, requests=40)
        before = server.worker_memory()
        sample_check = _check_list_sample(server.port)
        say(f"HTTP: {LIST_REQUESTS} requests from {LIST_CLIENTS} clients, whole bodies read")
        served = run_load(
            HttpTarget(HOST, server.port),
            [LIST_PATH],
            clients=LIST_CLIENTS,
            requests=LIST_REQUESTS,
            warmup_per_client=LIST_WARMUP_PER_CLIENT,
        )
        after = server.worker_memory()
    print(table(SUMMARY_HEADERS, [summary_row(f"HTTP, gunicorn x{WORKERS}", served)]))
    growth_mb = _print_memory(before, after)
    speedup = served.per_second / ORIGINAL_LIST_PER_SECOND
    checks = [
        sample_check,
        Check("list: HTTP errors", f"{served.errors:,}", "0", served.errors == 0),
        Check(
            "list: req/s vs the original's 0.40/s",
            f"{speedup:,.0f}x",
            f">= {REQUIRED_LIST_SPEEDUP}x",
            speedup >= REQUIRED_LIST_SPEEDUP,
        ),
        Check(
            "list: worker memory growth (peak)",
            f"{growth_mb:,.1f} MB",
            f"< {MAX_WORKER_GROWTH_MB} MB",
            growth_mb < MAX_WORKER_GROWTH_MB,
        ),
    ]
    print(checks_table(checks))
    return checks


def _check_list_sample(port: int) -> Check:
    spots = json.loads(_get(port, LIST_PATH))
    ids = [spot["id"] for spot in spots]
    in_order = ids == sorted(ids)
    return Check(
        "list: one answer is JSON, every spot, by id",
        f"{len(spots):,} spots, {'by id' if in_order else 'NOT by id'}",
        f"{SMALL_SPOTS:,}",
        len(spots) == SMALL_SPOTS and in_order,
    )


def _print_memory(before: dict[int, WorkerMemory], after: dict[int, WorkerMemory]) -> float:
    """Each worker's memory before and after the list requests; the largest growth, in MB,
    from resident before to the peak since (VmHWM), which also catches a freed spike."""
    rows, growths = [], []
    for pid, start in sorted(before.items()):
        end = after.get(pid)
        if end is None:
            continue  # the worker was replaced (it crashed): the errors column says so
        growths.append(end.peak_mb - start.rss_mb)
        rows.append(
            (
                f"worker {pid}",
                f"{start.rss_mb:,.1f}",
                f"{end.rss_mb:,.1f}",
                f"{end.peak_mb:,.1f}",
                f"{growths[-1]:+,.1f}",
            )
        )
    print(table(("", "RSS before MB", "RSS after MB", "peak MB", "peak growth MB"), rows))
    return max(growths, default=float("inf"))
