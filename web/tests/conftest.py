"""Fixtures for browser tests (web/tests/browser.py: the stack; chromium.py: the
browser side and axe-core).

    pytestmark = pytest.mark.browser

    def test_something(page, stack):          # runs at both sizes, phone and desktop
        page.goto("/")                         # the stack's base URL
        expect(page.get_by_role(...)).to_be_visible()

    @pytest.mark.parametrize("size", ["phone"])  # one size only
    @pytest.mark.geolocation("denied")            # default: granted, at Times Square
    def test_other(page, start_stack, browser_log):
        strict = start_stack(EMAIL_VERIFICATION="mandatory")  # a second stack, other settings
        page.goto(strict.url("/"))
        browser_log.allow("expected error text")   # else console errors fail the test

A test fails on any console error, uncaught exception, Content-Security-Policy violation, 5xx
answer or missing static file; a failing test leaves a screenshot and the page's console log
in its pytest tmp folder (the failure report names them).
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from web.tests.browser import Stack, Stacks
from web.tests.chromium import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NO_CHROMIUM,
    SIZES,
    BrowserLog,
    new_context,
    watch,
)


def pytest_collection_modifyitems(config, items) -> None:
    # Browser tests run last: Playwright's sync API keeps an event loop running in the test
    # process from its first use to the end of the session, and Django refuses database calls
    # from a thread with a running loop, which every later database test would make.
    browser = [item for item in items if "browser" in item.keywords]
    if browser:
        items[:] = [item for item in items if "browser" not in item.keywords] + browser


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item) -> Iterator[None]:
    outcome = yield
    log: BrowserLog | None = getattr(item, "browser_log", None)
    if log is not None and (unexpected := log.unexpected()):
        pytest.fail(
            "The page logged problems (browser_log.allow(pattern) if the test expects them):\n"
            + "\n".join(unexpected),
            pytrace=False,
        )
    return outcome


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    page: Page | None = getattr(item, "browser_page", None)
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        folder = item.browser_artifacts
        screenshot = folder / "failure.png"
        console = folder / "console.log"
        try:
            page.screenshot(path=screenshot, full_page=True)
        except Exception as error:  # the page may be gone with the failure; the log is kept
            screenshot = f"none ({error})"
        console.write_text("\n".join(item.browser_log.lines) + "\n")
        report.sections.append(("browser", f"screenshot: {screenshot}\nconsole log: {console}"))
    return report


@pytest.fixture(scope="session")
def browser_stacks(tmp_path_factory) -> Iterator[Stacks]:
    stacks = Stacks(tmp_path_factory.mktemp("browser-stacks"))
    try:
        yield stacks
    finally:
        stacks.stop_all()


@pytest.fixture(scope="session")
def stack(browser_stacks) -> Stack:
    """The stack with the project's default settings, shared by the session's browser tests."""
    return browser_stacks.get()


@pytest.fixture(scope="session")
def start_stack(browser_stacks):
    """``start_stack(SETTING="value", ...)``: a stack with those settings (environment
    variables) as well, started on first use and shared by the tests asking the same."""
    return browser_stacks.get


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def chromium(playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(params=list(SIZES))
def size(request) -> str:
    """``phone`` (390 x 844, touch) or ``desktop`` (1280 x 800): a test using ``page`` runs
    at both unless it parametrises ``size`` itself."""
    return request.param


@pytest.fixture
def browser_log(request) -> BrowserLog:
    log = BrowserLog()
    request.node.browser_log = log
    return log


@pytest.fixture
def context(request, chromium, stack, size, browser_log) -> Iterator[BrowserContext]:
    """A context at ``size`` on ``stack``; ``@pytest.mark.geolocation("denied")`` refuses the
    position, which is granted (Times Square) otherwise."""
    marker = request.node.get_closest_marker("geolocation")
    geolocation = marker.args[0] if marker else "granted"
    browser_context = new_context(chromium, size, base_url=stack.base_url, geolocation=geolocation)
    watch(browser_context, browser_log)
    yield browser_context
    browser_context.close()


@pytest.fixture
def page(request, context, tmp_path) -> Page:
    browser_page = context.new_page()
    request.node.browser_page = browser_page
    request.node.browser_artifacts = tmp_path
    return browser_page
