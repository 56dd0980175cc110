"""Staff sessions end when idle (SESSION_IDLE_MINUTES, pushed forward by every request) and
when the password changes. ops works in the admin through the real session store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

ADMIN_PAGE = "/admin/transfers/transfer/"


def _session(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_the_session_lives_for_the_idle_timeout_and_each_request_pushes_it_on(client, ops) -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    client.force_login(ops)
    Session.objects.filter(pk=_session(client).pk).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )

    assert client.get(ADMIN_PAGE).status_code == 200

    remaining = _session(client).expire_date - timezone.now()
    assert remaining > timedelta(minutes=29)


def test_an_idle_session_has_expired(client, ops) -> None:
    client.force_login(ops)
    assert client.get(ADMIN_PAGE).status_code == 200
    # Thirty-one minutes without a request: the stored expiry is in the past.
    Session.objects.filter(pk=_session(client).pk).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )

    page = client.get(ADMIN_PAGE)

    assert page.status_code == 302
    assert page.url.startswith("/admin/login/")


def test_a_password_change_ends_the_other_sessions(ops) -> None:
    laptop, phone = Client(), Client()
    laptop.force_login(ops)
    phone.force_login(ops)
    assert phone.get(ADMIN_PAGE).status_code == 200

    ops.set_password("a brand new passphrase 2026")
    ops.save()

    assert laptop.get(ADMIN_PAGE).status_code == 302
    assert phone.get(ADMIN_PAGE).status_code == 302


def test_an_idle_session_replayed_from_another_address_shows_nothing(client, ops) -> None:
    """The cookie of a session gone idle, tried from elsewhere (a stolen cookie): the login
    page, not the data, and nothing of the session is revived."""
    client.force_login(ops)
    assert client.get(ADMIN_PAGE, REMOTE_ADDR="198.51.100.7").status_code == 200
    stale = _session(client)
    Session.objects.filter(pk=stale.pk).update(expire_date=timezone.now() - timedelta(minutes=1))

    page = client.get(ADMIN_PAGE, REMOTE_ADDR="203.0.113.9", follow=True)

    assert page.redirect_chain[0][1] == 302
    assert page.redirect_chain[0][0].startswith("/admin/login/")
    assert b'name="password"' in page.content  # the login form
    assert b'id="result_list"' not in page.content  # no list of transfers
    assert not Session.objects.filter(
        session_key=stale.session_key, expire_date__gt=timezone.now()
    ).exists()
