"""Too many wrong passwords lock the login, for the admin and for the members' login in front
of OAuth consent; each lockout is in the audit trail and the attempts are in the admin."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.test import Client

from fintech.api.scopes import PROFILES_READ
from fintech.core.models import AuditEvent
from tests.api.conftest import issue_web_client, pkce_pair
from tests.api.test_customer_login import sign_in, start_authorization
from tests.builders import build_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LIMIT = 5  # settings.AXES_FAILURE_LIMIT (LOGIN_FAILURE_LIMIT)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's rounds per attempt would dominate these tests; the checks themselves are unchanged.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def admin_login(client: Client, username: str, password: str, address: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_twenty_wrong_admin_passwords_then_the_right_one_is_refused(client) -> None:
    build_user("ops", is_superuser=True, password=PASSWORD)
    statuses = {
        admin_login(client, "ops", f"guess-{i}", "198.51.100.1").status_code for i in range(20)
    }
    right = admin_login(client, "ops", PASSWORD, "198.51.100.1")
    assert statuses == {200, 429}  # the form again, then refused once locked
    assert right.status_code == 429
    assert client.get("/admin/").status_code == 302  # not signed in: sent to the login page


def test_the_lockout_holds_the_username_from_another_address_too(client) -> None:
    build_user("ops", is_superuser=True, password=PASSWORD)
    statuses = [
        admin_login(client, "ops", f"guess-{i}", f"198.51.100.{i + 10}").status_code
        for i in range(LIMIT)
    ]
    assert statuses == [200] * (LIMIT - 1) + [429]  # the attempt that reaches the limit locks
    assert admin_login(client, "ops", PASSWORD, "198.51.100.99").status_code == 429


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(client) -> None:
    build_user("ops", is_superuser=True, password=PASSWORD)
    for i in range(LIMIT - 1):
        admin_login(client, "ops", f"guess-{i}", "198.51.100.2")
    assert admin_login(client, "ops", PASSWORD, "198.51.100.2").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_lockout_is_in_the_audit_trail(client) -> None:
    ops = build_user("ops", is_superuser=True, password=PASSWORD)
    for i in range(LIMIT):
        admin_login(client, "ops", f"guess-{i}", "198.51.100.3")
    event = AuditEvent.objects.get(action="login.locked_out")
    assert (event.target_type, event.target_id) == ("auth.user", str(ops.pk))
    assert event.actor_label == "address:198.51.100.3"
    assert event.data["username"] == "ops"
    assert event.data["path"] == "/admin/login/"
    assert event.data["failures"] == LIMIT
    assert event.request_id  # the request that tripped it


def test_a_member_is_locked_out_at_the_login_in_front_of_consent(alice, alice_user) -> None:
    alice_user.set_password(PASSWORD)
    alice_user.save()
    issued = issue_web_client(alice, [PROFILES_READ])
    _verifier, challenge = pkce_pair()
    authorize_url = start_authorization(issued, challenge)
    browser = Client(REMOTE_ADDR="203.0.113.20")
    wrong = [
        sign_in(browser, authorize_url, "alice", f"guess-{i}").status_code for i in range(LIMIT)
    ]
    right = sign_in(browser, authorize_url, "alice", PASSWORD)
    assert wrong == [200] * (LIMIT - 1) + [429]  # the form again with its error, then locked
    assert right.status_code == 429
    # Still signed out: the authorization page sends the browser back to the login.
    assert browser.get(authorize_url).status_code == 302
    assert AuditEvent.objects.filter(action="login.locked_out", target_id=str(alice_user.pk))


def test_many_usernames_from_one_address_lock_that_address(client) -> None:
    build_user("carol", password=PASSWORD)
    for i in range(LIMIT):
        client.post(
            "/accounts/login/",
            {"username": f"nobody-{i}", "password": "x"},
            REMOTE_ADDR="203.0.113.30",
        )
    refused = client.post(
        "/accounts/login/", {"username": "carol", "password": PASSWORD}, REMOTE_ADDR="203.0.113.30"
    )
    assert refused.status_code == 429
    allowed = client.post(
        "/accounts/login/", {"username": "carol", "password": PASSWORD}, REMOTE_ADDR="203.0.113.31"
    )
    assert allowed.status_code == 302


def test_admins_see_attempts_and_lockouts_and_others_do_not(client) -> None:
    build_user("ops", is_superuser=True, password=PASSWORD)
    for i in range(LIMIT):
        admin_login(client, "ops", f"guess-{i}", "198.51.100.4")
    admin = build_user("dana", is_staff=True)
    admin.groups.add(Group.objects.get(name="admin"))
    support = build_user("sam", is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    viewer = Client()
    viewer.force_login(admin)
    page = viewer.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "198.51.100.4" in page.content.decode()
    assert viewer.get("/admin/axes/accesslog/").status_code == 200
    viewer.force_login(support)
    assert viewer.get("/admin/axes/accessattempt/").status_code == 403


def test_an_admin_lifts_a_lockout_by_deleting_its_attempts(client) -> None:
    build_user("ops", is_superuser=True, password=PASSWORD)
    for i in range(LIMIT):
        admin_login(client, "ops", f"guess-{i}", "198.51.100.5")
    assert admin_login(client, "ops", PASSWORD, "198.51.100.5").status_code == 429
    admin = build_user("dana", is_staff=True)
    admin.groups.add(Group.objects.get(name="admin"))
    console = Client()
    console.force_login(admin)
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    answer = console.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert answer.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert admin_login(client, "ops", PASSWORD, "198.51.100.5").status_code == 302


def test_signing_in_to_ones_own_account_does_not_reset_the_count(client) -> None:
    build_user("ops", is_superuser=True, password=PASSWORD)
    build_user("mallory", password=PASSWORD)
    address = "198.51.100.6"
    for i in range(LIMIT - 1):
        admin_login(client, "ops", f"guess-{i}", address)
    own = client.post(
        "/accounts/login/", {"username": "mallory", "password": PASSWORD}, REMOTE_ADDR=address
    )
    assert own.status_code == 302
    client.logout()
    assert admin_login(client, "ops", "guess-last", address).status_code == 429
