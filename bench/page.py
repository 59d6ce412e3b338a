"""The find page (`/`) as a phone's Chromium loads it, on loopback, against the search
benchmark's city (1,000,000 seeded spots), served as `make run` serves it: gunicorn and the
socket server behind the path router, static files from whitenoise after collectstatic.

Two figures, each against the issue's target:

- the JS and CSS of a first load, gzipped (target at most 150 KB; map tiles aside: they come
  from the tile server, here one on loopback drawing a street grid). Counted from what the browser
  downloaded: each script and style sheet it fetched, gzipped at level 9 as whitenoise's
  compressed copies are, beside the bytes that came over the wire;
- the time from navigation start to the first spots on the map (target at most 1 s), from the
  page's own ``performance.mark("first-spots")`` or, in a page without it, the moment the map
  first says it draws markers (``#map[data-markers]``).

Each load is measured ``LOADS`` times, p50 and p95, with an empty cache (a driver's first
visit: the target) and, as the baseline in the same run, with the cache of an earlier visit.
"""

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from statistics import median

from playwright.sync_api import Browser, Page, sync_playwright

from bench.databases import seeded_database, spot_count
from bench.options import Options
from bench.processes import HOST
from bench.project import manage
from bench.search import CITY_DATABASE, CITY_SPOTS
from bench.server import WebStack
from bench.stats import Check, heading, machine_load, percentile, say, software, table
from web.tests.chromium import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NO_CHROMIUM,
    new_context,
    street_grid_tile,
)

LOADS = 10
SIZE = "phone"
TARGET_KB = 150
TARGET_FIRST_SPOTS_S = 1.0
FIRST_SPOTS_TIMEOUT_MS = 30_000
CODE_RESOURCES = ("script", "stylesheet")

# The moment the map first draws spots: the page's own mark, else the first time the map says
# it shows markers (find.js sets #map's data-markers on each render).
_OBSERVE_FIRST_SPOTS = """
new MutationObserver((changes, observer) => {
  const map = document.getElementById("map");
  if (map && Number(map.dataset.markers) > 0) {
    performance.mark("first-spots-observed");
    observer.disconnect();
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-markers"]});
"""
_FIRST_SPOTS_MS = """() => {
  const own = performance.getEntriesByName("first-spots");
  const seen = performance.getEntriesByName("first-spots-observed");
  const mark = own.length ? own[0] : seen[0];
  return mark ? [mark.startTime, own.length ? "page" : "observed"] : null;
}"""


@dataclass(frozen=True)
class Load:
    first_spots_s: float
    marked_by: str  # "page": its performance.mark; "observed": #map[data-markers]
    code_gzip_bytes: int  # JS + CSS fetched, each body gzipped
    code_wire_bytes: int  # JS + CSS bodies as they came over the wire (0 from the cache)
    code_files: int
    encodings: frozenset[str]


def run(options: Options) -> list[Check]:
    if not CHROMIUM.exists():
        raise SystemExit(NO_CHROMIUM)
    heading("Page: database")
    city = seeded_database(CITY_DATABASE, spots=CITY_SPOTS, reseed=options.reseed)
    say("collectstatic: whitenoise's compressed copies, as a deploy serves them")
    manage(city.url, "collectstatic", "--noinput", "--verbosity", "0")
    heading("Page: environment")
    print(f"  {software('Django', 'whitenoise', 'playwright')}")
    print(f"  {city.name}: {spot_count(city):,} spots; Chromium at {CHROMIUM}, {SIZE} size")
    print(f"  {machine_load()}")
    with (
        tile_server() as tile_url,
        WebStack(city.url, MAP_TILE_URL=tile_url, STATIC_FROM_SOURCES="false") as stack,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            heading("Page: loads")
            cold = [_cold_load(browser, stack.url, number) for number in range(1, LOADS + 1)]
            warm = _warm_loads(browser, stack.url)
        finally:
            browser.close()
    return _report(cold, warm)


def _cold_load(browser: Browser, url: str, number: int) -> Load:
    context = new_context(browser, SIZE, base_url=url, local_tiles=False)
    try:
        load = _measure(context.new_page(), url)
    finally:
        context.close()
    say(f"cold load {number}/{LOADS}: first spots {load.first_spots_s * 1000:,.0f} ms")
    return load


def _warm_loads(browser: Browser, url: str) -> list[Load]:
    """Loads in one context after a first visit: scripts and styles from the browser cache
    (whitenoise lets it keep them a minute without asking)."""
    context = new_context(browser, SIZE, base_url=url, local_tiles=False)
    try:
        _measure(context.new_page(), url)
        loads = []
        for number in range(1, LOADS + 1):
            page = context.new_page()
            loads.append(_measure(page, url))
            page.close()
            say(f"warm load {number}/{LOADS}: first spots {loads[-1].first_spots_s * 1000:,.0f} ms")
        return loads
    finally:
        context.close()


def _measure(page: Page, url: str) -> Load:
    code = []
    page.on(
        "response",
        lambda response: (
            code.append(response) if response.request.resource_type in CODE_RESOURCES else None
        ),
    )
    page.add_init_script(_OBSERVE_FIRST_SPOTS)
    page.goto(url + "/")
    page.wait_for_function(_FIRST_SPOTS_MS, timeout=FIRST_SPOTS_TIMEOUT_MS)
    first_spots_ms, marked_by = page.evaluate(_FIRST_SPOTS_MS)
    page.wait_for_load_state("load")
    bodies = [response.body() for response in code]
    return Load(
        first_spots_s=first_spots_ms / 1000,
        marked_by=marked_by,
        code_gzip_bytes=sum(len(gzip.compress(body, compresslevel=9)) for body in bodies),
        # -1: from the browser's cache, nothing downloaded.
        code_wire_bytes=sum(
            max(response.request.sizes()["responseBodySize"], 0) for response in code
        ),
        code_files=len(code),
        encodings=frozenset(response.headers.get("content-encoding", "none") for response in code),
    )


@contextmanager
def tile_server() -> Iterator[str]:
    """A tile server on loopback answering every tile with the tests' street grid; its URL
    template. Not the browser context's own answer (the tests' ``route_tiles``): a context that
    routes requests keeps no HTTP cache, and the later visits measure that cache."""

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = street_grid_tile()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=86400")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}/{{z}}/{{x}}/{{y}}.png"
    finally:
        server.shutdown()
        server.server_close()


def _report(cold: list[Load], warm: list[Load]) -> list[Check]:
    heading("Page: results")
    rows = [_row("first visit (empty cache)", cold), _row("later visit (cached)", warm)]
    print(
        table(
            (
                "",
                "first spots p50 ms",
                "p95 ms",
                "JS+CSS files",
                "gzipped KB",
                "over the wire KB",
                "encoding",
            ),
            rows,
        )
    )
    marked = {load.marked_by for load in cold}
    print(
        "\n  first spots marked by: "
        + ", ".join(
            "the page (performance.mark first-spots)"
            if by == "page"
            else "#map[data-markers] (the page sets no first-spots mark)"
            for by in sorted(marked)
        )
    )
    print(f"  {machine_load()}: figures from a busy machine are upper bounds, not final.")
    first_spots = sorted(load.first_spots_s for load in cold)
    gzip_kb = median(load.code_gzip_bytes for load in cold) / 1000
    return [
        Check(
            "page: JS+CSS of a first load, gzipped",
            f"{gzip_kb:,.1f} KB",
            f"<= {TARGET_KB} KB",
            gzip_kb <= TARGET_KB,
        ),
        Check(
            "page: first spots on the map, p50 of first visits",
            f"{percentile(first_spots, 50):,.2f} s",
            f"<= {TARGET_FIRST_SPOTS_S:.0f} s",
            percentile(first_spots, 50) <= TARGET_FIRST_SPOTS_S,
        ),
    ]


def _row(label: str, loads: list[Load]) -> tuple[str, ...]:
    first_spots = sorted(load.first_spots_s * 1000 for load in loads)
    return (
        label,
        f"{percentile(first_spots, 50):,.0f}",
        f"{percentile(first_spots, 95):,.0f}",
        f"{median(load.code_files for load in loads):.0f}",
        f"{median(load.code_gzip_bytes for load in loads) / 1000:,.1f}",
        f"{median(load.code_wire_bytes for load in loads) / 1000:,.1f}",
        "/".join(sorted(set().union(*(load.encodings for load in loads)))),
    )
