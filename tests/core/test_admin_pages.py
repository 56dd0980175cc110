"""Every admin list and change page loads with demo data, in a bounded number of queries."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

# A list page may not grow with its rows: sessions, user, permissions, count, page, a few
# lookups. A page that issues a query per row blows straight through this.
MAX_QUERIES_PER_PAGE = 25

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):  # noqa: ARG001
    with django_db_blocker.unblock():
        call_command("demo_data", verbosity=0)


@pytest.fixture
def ops_client(client, demo_data):  # noqa: ARG001
    ops = get_user_model().objects.create_superuser("ops_admin_pages", "ops@example.com", "x")
    client.force_login(ops)
    return client


def registered_models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_list_page_loads_in_bounded_queries(ops_client, model) -> None:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = ops_client.get(url)
    assert response.status_code == 200
    assert len(queries) <= MAX_QUERIES_PER_PAGE, [q["sql"][:120] for q in queries]


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_change_page_loads_in_bounded_queries(ops_client, model) -> None:
    obj = model._default_manager.order_by("pk").last()
    if obj is None:
        pytest.skip(f"no {model._meta.label} rows in the demo data")
    url = reverse(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]
    )
    with CaptureQueriesContext(connection) as queries:
        response = ops_client.get(url)
    assert response.status_code == 200
    assert len(queries) <= MAX_QUERIES_PER_PAGE, [q["sql"][:120] for q in queries]
