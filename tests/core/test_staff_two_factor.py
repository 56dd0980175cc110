"""Staff second factor for the admin (STAFF_2FA_REQUIRED): a password alone opens nothing; a
code from the authenticator app (once) or a recovery code (once) does; admins reset a
colleague's devices with a reason, in the audit trail. The people: ops (admin) and carol
(support), signing in through the real login page (django-axes in front)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from fintech.core.models import AuditEvent
from tests.builders import build_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
ADMIN_PAGE = "/admin/transfers/transfer/"


@pytest.fixture(autouse=True)
def _two_factor_required(settings):
    settings.STAFF_2FA_REQUIRED = True
    # PBKDF2's rounds per sign-in would dominate these tests; the checks are unchanged.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client: Client, username: str, address: str = "198.51.100.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes")
    codes = ["rec0code1", "rec0code2"]
    for code in codes:
        StaticToken.objects.create(device=recovery, token=code)
    return device, codes


def actions_on(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="auth.user", target_id=str(user.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.fixture
def carol(db):
    """Carol, support staff."""
    user = build_user("carol", is_staff=True, password=PASSWORD)
    user.groups.add(Group.objects.get(name="support"))
    return user


@pytest.fixture
def ops_admin(db):
    return build_user("ops", is_superuser=True, password=PASSWORD)


def test_a_password_alone_opens_no_admin_page(client, carol) -> None:
    enrolled(carol)
    assert sign_in(client, "carol").status_code == 302

    page = client.get(ADMIN_PAGE)
    assert page.status_code == 302
    assert page.url.startswith("/admin/login/")
    # The login page sends signed-in staff on to the code page, keeping where they were going.
    onward = client.get(page.url)
    assert onward.status_code == 302
    assert onward.url.startswith("/admin/2fa/?next=")
    assert client.get(onward.url).status_code == 200


def test_force_login_without_a_device_is_sent_to_enrolment(client, carol) -> None:
    client.force_login(carol)
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/admin/2fa/enrol/")


def test_the_right_code_opens_the_admin_and_the_same_code_again_is_refused(carol) -> None:
    device, _ = enrolled(carol)
    first, second = Client(), Client()
    sign_in(first, "carol")
    sign_in(second, "carol")
    code = code_for(device)

    accepted = first.post("/admin/2fa/", {"token": code, "next": ADMIN_PAGE})
    assert accepted.status_code == 302
    assert accepted.url == ADMIN_PAGE
    assert first.get(ADMIN_PAGE).status_code == 200

    replayed = second.post("/admin/2fa/", {"token": code, "next": ADMIN_PAGE})
    assert replayed.status_code == 200
    assert "wrong, already used, or expired" in replayed.content.decode()
    assert second.get(ADMIN_PAGE).status_code == 302
    assert actions_on(carol)[-2:] == ["two_factor.verified", "two_factor.failed"]


def test_a_wrong_code_is_refused(client, carol) -> None:
    device, _ = enrolled(carol)
    sign_in(client, "carol")
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    assert client.post("/admin/2fa/", {"token": wrong}).status_code == 200
    assert client.get(ADMIN_PAGE).status_code == 302
    assert "two_factor.failed" in actions_on(carol)


def test_a_recovery_code_works_once(carol) -> None:
    _, codes = enrolled(carol)
    first, second = Client(), Client()
    sign_in(first, "carol")
    sign_in(second, "carol")

    assert first.post("/admin/2fa/", {"token": codes[0]}).status_code == 302
    assert first.get(ADMIN_PAGE).status_code == 200
    assert second.post("/admin/2fa/", {"token": codes[0]}).status_code == 200
    assert second.get(ADMIN_PAGE).status_code == 302
    verified = AuditEvent.objects.get(action="two_factor.verified", target_id=str(carol.pk))
    assert verified.data["device"] == "recovery_code"
    assert verified.data["recovery_codes_left"] == 1


def test_enrolment_shows_an_inline_qr_code_then_the_recovery_codes_once(client, carol) -> None:
    sign_in(client, "carol")
    page = client.get("/admin/2fa/enrol/?next=/admin/")
    body = page.content.decode()
    assert page.status_code == 200
    qr = body.split('id="totp-qr"')[1].split("</div>")[0]
    assert "<svg" in qr
    assert "src=" not in qr
    assert "href=" not in qr
    device = TOTPDevice.objects.get(user=carol, confirmed=False)

    done = client.post("/admin/2fa/enrol/", {"token": code_for(device), "next": "/admin/"})
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert done.status_code == 200
    assert len(codes) == 10
    assert "no-store" in done["Cache-Control"]
    assert client.get(ADMIN_PAGE).status_code == 200
    # Enrolled: the page now sends her to the code page; no second set of codes.
    assert client.get("/admin/2fa/enrol/").url.startswith("/admin/2fa/")
    assert actions_on(carol) == [
        "login.succeeded",
        "two_factor.device_added",
        "two_factor.verified",
    ]

    # The next sign-in asks for a code; one of the recovery codes works.
    later = Client()
    sign_in(later, "carol")
    assert later.post("/admin/2fa/", {"token": codes[3]}).status_code == 302
    assert later.get(ADMIN_PAGE).status_code == 200


def _verified_client(user, device: TOTPDevice) -> Client:
    client = Client()
    sign_in(client, user.get_username())
    assert client.post("/admin/2fa/", {"token": code_for(device)}).status_code == 302
    return client


def test_an_admin_resets_a_colleagues_devices_with_a_reason_in_the_audit_trail(
    ops_admin, carol
) -> None:
    ops_device, _ = enrolled(ops_admin)
    _, carol_codes = enrolled(carol)
    ops = _verified_client(ops_admin, ops_device)
    carols_session = Client()
    sign_in(carols_session, "carol")
    assert carols_session.post("/admin/2fa/", {"token": carol_codes[0]}).status_code == 302

    assert ops.get(f"/admin/2fa/reset/{carol.pk}/").status_code == 200
    done = ops.post(f"/admin/2fa/reset/{carol.pk}/", {"reason": "lost phone, ticket 4411"})

    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=carol).exists()
    assert not StaticDevice.objects.filter(user=carol).exists()
    reset = AuditEvent.objects.get(action="two_factor.reset")
    assert (reset.actor_id, reset.target_id, reset.reason) == (
        ops_admin.pk,
        str(carol.pk),
        "lost phone, ticket 4411",
    )
    assert reset.data == {"devices_deleted": 2}
    # Her verified session is verified no longer: she enrols again.
    assert carols_session.get(ADMIN_PAGE).status_code == 302
    assert (
        carols_session.get("/admin/", follow=True)
        .redirect_chain[-1][0]
        .startswith("/admin/2fa/enrol/")
    )
    # The user's page shows the state and the link.
    page = ops.get(f"/admin/auth/user/{carol.pk}/change/")
    assert page.status_code == 200
    assert "Not set up" in page.content.decode()


def test_support_staff_cannot_reset_anyones_devices(ops_admin, carol) -> None:
    carol_device, _ = enrolled(carol)
    enrolled(ops_admin)
    carols = _verified_client(carol, carol_device)
    assert carols.post(f"/admin/2fa/reset/{ops_admin.pk}/", {"reason": "x"}).status_code == 403
    assert TOTPDevice.objects.filter(user=ops_admin).exists()
    assert not AuditEvent.objects.filter(action="two_factor.reset").exists()


def test_staff_logins_and_failures_are_in_the_audit_trail(client, carol) -> None:
    bad = client.post(
        "/admin/login/",
        {"username": "carol", "password": "not it", "next": "/admin/"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert bad.status_code == 200
    sign_in(client, "carol")
    failed, succeeded = AuditEvent.objects.filter(target_id=str(carol.pk)).order_by("id")
    assert (failed.action, failed.actor_label) == ("login.failed", "address:203.0.113.9")
    assert failed.data["username"] == "carol"
    assert (succeeded.action, succeeded.actor_id) == ("login.succeeded", carol.pk)


def test_the_login_lockout_still_holds_with_two_factor_on(client, carol) -> None:
    for i in range(5):
        client.post(
            "/admin/login/",
            {"username": "carol", "password": f"guess-{i}"},
            REMOTE_ADDR="203.0.113.10",
        )
    assert sign_in(client, "carol", address="203.0.113.10").status_code == 429
    assert client.get("/admin/2fa/").status_code == 302  # not signed in


def test_a_next_pointing_elsewhere_is_ignored_after_the_code(client, carol) -> None:
    device, _ = enrolled(carol)
    sign_in(client, "carol")
    done = client.post("/admin/2fa/", {"token": code_for(device), "next": "https://evil.example/"})
    assert done.url == "/admin/"


def test_sign_out_from_the_code_page_ends_the_session(client, carol) -> None:
    enrolled(carol)
    sign_in(client, "carol")
    assert client.post("/admin/2fa/sign-out/").url == "/admin/login/"
    assert client.get("/admin/2fa/").url == "/admin/login/"
