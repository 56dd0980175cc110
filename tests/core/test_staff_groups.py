"""Staff roles are groups with least privilege, created by a migration."""

import pytest
from django.contrib.auth.models import Group

from fintech.core.staff import STAFF_ROLES, staff_groups_sync


def perms(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db
def test_every_role_exists_after_migrating() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= set(STAFF_ROLES)


@pytest.mark.django_db
def test_support_sees_customers_but_moves_no_money() -> None:
    support = perms("support")
    assert "transfers.view_transfer" in support
    assert "beneficiaries.view_beneficiary" in support
    # Working the exception inbox (assign, snooze, resolve: audited) moves no money.
    acts = {p for p in support if not p.split(".")[1].startswith("view_")}
    assert acts == {"integrations.change_exceptionitem"}


@pytest.mark.django_db
def test_only_finance_and_admin_may_act_on_transfers() -> None:
    for permission in ("transfers.change_transfer", "transfers.transition_transfer"):
        holders = {name for name in STAFF_ROLES if permission in perms(name)}
        assert holders == {"finance", "admin"}, permission


@pytest.mark.django_db
def test_only_compliance_and_admin_decide_kyc() -> None:
    holders = {name for name in STAFF_ROLES if "compliance.change_compliancestatus" in perms(name)}
    assert holders == {"compliance", "admin"}


@pytest.mark.django_db
def test_engineering_has_no_customer_data_beyond_transfers() -> None:
    engineering = perms("engineering")
    assert "beneficiaries.view_beneficiary" not in engineering
    assert "customers.view_profile" not in engineering
    assert "django_celery_beat.change_periodictask" in engineering


@pytest.mark.django_db
def test_sync_repairs_a_group_whose_permissions_were_removed() -> None:
    Group.objects.get(name="support").permissions.clear()
    staff_groups_sync()
    assert "transfers.view_transfer" in perms("support")
