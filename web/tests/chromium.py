"""Chromium for the browser tests, the screenshots and the page benchmark (bench/page.py): the
two sizes, the position, map tiles served without a network, what a page logs, and axe-core.
Nothing here needs Django, so the benchmark, which keeps Django out of its own process, uses it
too; the stack the pages come from is web/tests/browser.py's.
"""

import re
import struct
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Chromium is not installed: apt-get install chromium"
CHROMIUM_ARGS = ["--no-sandbox"]

# The two sizes the web app is built for (docs/web.md): a phone first, and a laptop.
SIZES: dict[str, dict[str, object]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 1,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}

# Times Square: the driver's position when a test grants geolocation.
MIDTOWN = {"latitude": 40.758, "longitude": -73.9855}

# Map tiles: no test reaches the internet. The stack's pages ask this host, which the browser
# context answers itself with a drawn street grid (``route_tiles``).
TILE_ORIGIN = "http://tiles.test"
TILE_URL = TILE_ORIGIN + "/{z}/{x}/{y}.png"

# axe-core's impacts that fail a page.
FAILING_IMPACTS = ("serious", "critical")


@dataclass
class BrowserLog:
    """What a page said while a test drove it: every console message, and the problems among
    them, which fail the test unless it allowed them (``allow``)."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Problems matching ``pattern`` (a regular expression) do not fail this test."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def record(self, line: str, *, problem: bool = False) -> None:
        self.lines.append(line)
        if problem:
            self.problems.append(line)


# A 4xx answer is the API doing its job (a field error, a sign-in needed): the page shows it.
# The browser logs each as "Failed to load resource"; 5xx answers and missing static files are
# caught from the responses instead.
_CLIENT_ERROR_RESOURCE = re.compile(
    r"Failed to load resource: the server responded with a status of 4\d\d"
)
_REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI} `
    + `at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def watch(context: BrowserContext, log: BrowserLog) -> None:
    """Record into ``log`` what every page of ``context`` logs, throws, is refused by the
    Content-Security-Policy or gets as a server error."""
    context.expose_function(
        "__reportCspViolation",
        lambda text: log.record(f"CSP violation: {text}", problem=True),
    )
    context.add_init_script(_REPORT_CSP)

    def on_console(message) -> None:
        location = message.location.get("url", "")
        problem = message.type == "error" and not _CLIENT_ERROR_RESOURCE.search(message.text)
        log.record(f"console.{message.type}: {message.text} ({location})", problem=problem)

    def on_response(response) -> None:
        server_error = response.status >= 500
        missing_static = response.status == 404 and "/static/" in response.url
        if server_error or missing_static:
            log.record(
                f"HTTP {response.status} {response.request.method} {response.url}", problem=True
            )

    def on_page(page: Page) -> None:
        page.on("console", on_console)
        page.on("pageerror", lambda error: log.record(f"uncaught: {error}", problem=True))
        page.on("response", on_response)

    context.on("page", on_page)


def route_tiles(context: BrowserContext) -> None:
    """Map tiles come from the browser context, never the network (TILE_URL)."""

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="image/png", body=street_grid_tile())

    context.route(TILE_ORIGIN + "/**", fulfil)


@cache
def street_grid_tile() -> bytes:
    """A 256-pixel PNG tile: a light street grid, enough to look like a map in screenshots."""
    size, block, street = 256, 64, 6
    land, road = bytes((236, 232, 223)), bytes((255, 255, 255))
    rows = b"".join(
        b"\x00"
        + b"".join(
            road if (x % block < street or y % block < street) else land for x in range(size)
        )
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def new_context(
    browser, size: str, *, base_url: str, geolocation: str = "granted", local_tiles: bool = True
) -> BrowserContext:
    """A context at one of SIZES, in New York, with geolocation ``granted`` (at MIDTOWN) or
    ``denied``, and the map tiles (TILE_URL) answered by the context itself (``local_tiles``;
    a context that routes requests keeps no HTTP cache)."""
    if geolocation not in ("granted", "denied"):
        raise ValueError(f"geolocation: granted or denied, not {geolocation!r}")
    granted = geolocation == "granted"
    context = browser.new_context(
        **SIZES[size],
        base_url=base_url,
        locale="en-US",
        timezone_id="America/New_York",
        geolocation=MIDTOWN if granted else None,
        permissions=["geolocation"] if granted else [],
    )
    if local_tiles:
        route_tiles(context)
    return context


def assert_accessible(page: Page, what: str) -> None:
    """Fail, with a readable report, if axe-core finds a serious or critical violation on the
    page as it is now (axe-core ships inside axe-playwright-python's wheel: no network)."""
    violations = [
        violation
        for violation in Axe().run(page).response["violations"]
        if violation["impact"] in FAILING_IMPACTS
    ]
    if violations:
        pytest.fail(f"axe on {what} ({page.url}):\n{accessibility_report(violations)}")


def accessibility_report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"  at {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            lines.extend(
                f"    {line}" for line in node.get("failureSummary", "").splitlines() if line
            )
    return "\n".join(lines)


def sign_in_tab(page: Page, email: str, token: str) -> None:
    """The tab signed in as the sign-in page leaves it (web/static/web/session.js's keys), so a
    test can open an account's pages without going through the form."""
    _set_session(page, {"sms.token": token, "sms.email": email})


def remember_guest(page: Page, reservation_id: int, email: str) -> None:
    """The tab remembers a guest's reservation as booking it does (session.js), so its page
    opens without the emailed link."""
    _set_session(page, {"sms.guest-reservations": f'{{"{reservation_id}": "{email}"}}'})


def _set_session(page: Page, items: dict[str, str]) -> None:
    # sessionStorage belongs to the tab and the origin: set on a page of the site, kept by
    # every later page of it in this tab.
    if not page.url.startswith(("http://", "https://")):
        page.goto("/healthz")
    page.evaluate(
        "(items) => Object.entries(items).forEach(([k, v]) => sessionStorage.setItem(k, v))",
        items,
    )
