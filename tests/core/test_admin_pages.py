"""Every admin list and change page loads with demo data, in a bounded number of queries."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

# A page may not grow with its rows: session, user, permissions, count, page, a few lookups.
# A page that issues a query per row blows straight through this.
MAX_QUERIES_PER_PAGE = 25

# Our own apps must have demo rows for every model an operator looks at.
OUR_APPS = {"core", "customers", "compliance", "beneficiaries", "quotes", "transfers", "ledger"}


def page_problems(client, url: str) -> str | None:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    if response.status_code != 200:
        return f"{url}: HTTP {response.status_code}"
    if len(queries) > MAX_QUERIES_PER_PAGE:
        return f"{url}: {len(queries)} queries"
    return None


@pytest.mark.django_db
def test_every_admin_page_loads_with_demo_data_in_bounded_queries(client) -> None:
    # One test on purpose: the demo world is loaded once, inside this test's transaction.
    call_command("demo_data", verbosity=0)
    ops = get_user_model().objects.create_superuser("ops_admin_pages", "ops@example.com", "x")
    client.force_login(ops)
    problems: list[str] = []
    empty: list[str] = []
    # The index is the operator dashboard: every panel filled by the demo world.
    problems.append(page_problems(client, reverse("admin:index")) or "")
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        problems.append(page_problems(client, changelist) or "")
        obj = model._default_manager.order_by("pk").last()
        if obj is None:
            if opts.app_label in OUR_APPS:
                empty.append(opts.label)
            continue
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        problems.append(page_problems(client, change) or "")
    assert [p for p in problems if p] == []
    assert empty == [], "the demo data leaves these screens empty"
