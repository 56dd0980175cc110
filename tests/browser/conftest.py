"""Browser tests: Debian's chromium, driven by Playwright, against pytest-django's live server.

Playwright never downloads a browser here: it launches the chromium at CHROMIUM by its path
(`apt-get install chromium`). Without it the tests skip and say how to install it, except
under CI=true, where they fail: CI must never go green by skipping them. When a test fails,
each page it had open is saved as a PNG under test-artifacts/browser/ (git-ignored), for CI
to keep as an artefact.

Staff sign in through the real login page and the real second-factor page (STAFF_2FA_REQUIRED
on), with a TOTP code computed from their device's key, as a phone would.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.builders import build_user

# Debian's package; CHROMIUM_PATH points elsewhere (another distribution's chromium).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "correct horse battery staple"
HANG_MS = 60_000  # how long a page or an assertion may wait before the test gives up
# Headless, and quiet: nothing but the live server on 127.0.0.1 is ever contacted.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    f"browser tests need Debian's chromium at {CHROMIUM}: install Debian's chromium "
    "(apt-get install chromium), or see README (Tests in a real browser)"
)
PAGES = pytest.StashKey[list[Any]]()


def _unavailable(reason: str) -> NoReturn:
    # A CI that cannot run them fails; a newcomer's machine skips with the way to fix it.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module (each test gets fresh contexts: no shared cookies)."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(MISSING)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("browser tests need playwright (requirements-dev.txt: make venv)")
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API marks its event loop as running in this thread between calls,
        # so Django would refuse the ORM (test data, assertions, the flush after each test) as
        # if called from async code. Nothing here is async: the check is off for this module
        # only, and back on for the next module in this process.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        from playwright.sync_api import expect

        expect.set_options(timeout=HANG_MS)
        playwright = sync_playwright().start()
        try:
            # launch() gives chromium a fresh temporary profile (user-data dir) every time.
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
        finally:
            playwright.stop()


@pytest.fixture
def open_page(browser, live_server, request) -> Iterator[Callable[[], Any]]:
    """A new page in a new browser context (its own cookies: one person's browser each)."""
    contexts: list[Any] = []
    pages: list[Any] = []
    request.node.stash[PAGES] = pages

    # The live server listens on 127.0.0.1; "localhost" would have chromium try ::1 first.
    base_url = live_server.url.replace("://localhost:", "://127.0.0.1:")

    def new_page() -> Any:
        context = browser.new_context(base_url=base_url)
        # Limits for a hang, not for speed: a loaded 2-core CI machine may be slow.
        context.set_default_timeout(HANG_MS)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def _two_factor_required(settings) -> None:
    settings.STAFF_2FA_REQUIRED = True
    # PBKDF2's rounds per sign-in would dominate; the sign-in path is otherwise unchanged.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """On a failure, a screenshot of each open page (before the fixtures close them)."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or report.when == "teardown":
        return
    saved = []
    for n, page in enumerate(item.stash.get(PAGES, [])):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[-150:]
        path = ARTIFACTS / f"{name}-{n}.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
            saved.append(f"{path} ({page.url})")
        except Exception as exc:  # a crashed page must not hide the test's own failure
            saved.append(f"{path}: no screenshot: {exc}")
    if saved:
        report.sections.append(("browser screenshots", "\n".join(saved)))


# --- staff and signing in ------------------------------------------------------------------------


def staff_member(username: str, role: str) -> tuple[Any, TOTPDevice]:
    """Staff in one of the project's role groups (fintech/core/staff.py), with a confirmed
    authenticator app."""
    user = build_user(username, is_staff=True, password=PASSWORD)
    user.groups.add(Group.objects.get(name=role))
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user, device


def code_for(device: TOTPDevice) -> str:
    """What the authenticator app shows now."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def enter_password(page: Any, username: str, *, next_url: str = "/admin/") -> None:
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click('input[type="submit"][value="Log in"]')
    # The password is not enough: the login page sends staff on to the code.
    page.wait_for_url(re.compile(r"/admin/2fa/"))


def enter_code(page: Any, code: str) -> None:
    page.fill("#id_token", code)
    page.click('input[type="submit"][value="Verify"]')
    page.wait_for_load_state()


def sign_in(page: Any, username: str, device: TOTPDevice, code: str | None = None) -> str:
    """The real login page, then the real code page; lands on the dashboard. Returns the
    code used."""
    enter_password(page, username)
    code = code or code_for(device)
    enter_code(page, code)
    page.wait_for_url(re.compile(r"/admin/$"))
    page.wait_for_selector("#operator-dashboard")
    return code


def refused(page: Any, url: str, *secrets: str) -> None:
    """A URL this person may not see: 403 or 404, and none of its data in the answer."""
    response = page.goto(url)
    assert response is not None
    assert response.status in (403, 404), f"{url}: {response.status}"
    body = page.content()
    for secret in secrets:
        assert secret not in body, f"{url} shows {secret!r}"
