"""Staff sign-in with a second factor, in a real browser: enrolment from the key the page
shows, a wrong code refused, a code used once refused the second time (another browser), and
a password alone opening nothing.

People: nora (support, new: no authenticator yet), carol (support, enrolled)."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from fintech.core.models import AuditEvent
from tests.browser.conftest import (
    PASSWORD,
    code_for,
    enter_code,
    enter_password,
    sign_in,
    staff_member,
)
from tests.builders import build_user

pytestmark = [pytest.mark.django_db(transaction=True)]

TRANSFERS = "/admin/transfers/transfer/"
REFUSED = "That code is wrong, already used, or expired."


def opens_nothing(page: Page) -> None:
    """A session without a passed code is sent back to sign in; no list is shown."""
    response = page.goto(TRANSFERS)
    assert response is not None
    assert re.search(r"/admin/(login|2fa)/", page.url), page.url
    expect(page.locator("#changelist")).to_have_count(0)


def test_a_new_colleague_enrols_from_the_key_on_the_page(open_page) -> None:
    nora = build_user("nora", is_staff=True, password=PASSWORD)
    nora.groups.add(Group.objects.get(name="support"))
    page = open_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "nora")
    page.fill("#id_password", PASSWORD)
    page.click('input[type="submit"][value="Log in"]')
    page.wait_for_url(re.compile(r"/admin/2fa/enrol/"))
    expect(page.locator("#totp-qr svg")).to_be_visible()

    # What a person types into an authenticator app by hand.
    secret = page.locator("#totp-secret").inner_text().strip()
    key = b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_token", f"{totp(key):06d}")
    page.click('input[type="submit"][value="Confirm"]')

    codes = page.locator("#recovery-codes li")
    expect(codes.first).to_be_visible()
    assert codes.count() > 1
    page.get_by_role("link", name="Continue to the console").click()
    page.wait_for_selector("#operator-dashboard")
    assert TOTPDevice.objects.get(user=nora).confirmed


def test_a_wrong_code_is_refused_and_opens_nothing(open_page) -> None:
    carol, device = staff_member("carol", "support")
    page = open_page()
    enter_password(page, "carol")
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    enter_code(page, wrong)
    expect(page.locator("#content-main .errorlist")).to_contain_text(REFUSED)
    opens_nothing(page)
    assert AuditEvent.objects.filter(
        action="two_factor.failed", target_type="auth.user", target_id=str(carol.pk)
    ).exists()


def test_a_code_used_once_is_refused_in_another_browser(open_page) -> None:
    carol, device = staff_member("carol", "support")
    hers, thief = open_page(), open_page()
    enter_password(thief, "carol")  # someone with her password, watching over her shoulder

    used = sign_in(hers, "carol", device)
    enter_code(thief, used)  # what she typed, replayed

    expect(thief.locator("#content-main .errorlist")).to_contain_text(REFUSED)
    opens_nothing(thief)
    trail = AuditEvent.objects.filter(target_type="auth.user", target_id=str(carol.pk))
    assert list(trail.order_by("id").values_list("action", flat=True))[-2:] == [
        "two_factor.verified",
        "two_factor.failed",
    ]
    # Her own session is untouched.
    hers.goto(TRANSFERS)
    hers.wait_for_selector("#changelist")
