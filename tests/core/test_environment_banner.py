"""The environment (FINTECH_ENV) in a banner on every admin page: the index, a change list,
a change form and the login page, so production is never mistaken for a sandbox."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from fintech.core.services import Actor, audit_record

pytestmark = pytest.mark.django_db


def banner(response) -> str:
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index('<div id="environment-banner"')
    return page[start : page.index("</div>", start)]


@pytest.fixture
def ops_client(ops) -> Client:
    client = Client()
    client.force_login(ops)
    return client


@pytest.mark.parametrize(
    ("environment", "shown"),
    [("local", "LOCAL environment"), ("test", "TEST environment"), ("production", "PRODUCTION")],
)
def test_the_admin_index_and_a_change_list_show_the_environment(
    ops_client, environment, shown
) -> None:
    with override_settings(FINTECH_ENV=environment):
        for url in ["/admin/", "/admin/core/auditevent/", "/admin/transfers/transfer/"]:
            assert shown in banner(ops_client.get(url)), url


def test_a_change_form_and_the_login_page_show_it_too(ops_client, ops) -> None:
    event = audit_record(actor=Actor.system("test"), action="profile.note", target=ops)
    with override_settings(FINTECH_ENV="production"):
        assert "PRODUCTION" in banner(ops_client.get(f"/admin/core/auditevent/{event.pk}/change/"))
        assert "PRODUCTION" in banner(Client().get("/admin/login/"))


def test_outside_production_the_title_says_so_too(ops_client) -> None:
    with override_settings(FINTECH_ENV="local"):
        page = ops_client.get("/admin/").content.decode()
    assert "<title>[Local] " in page
