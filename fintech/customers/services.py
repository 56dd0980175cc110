"""Writes for customers: creating profiles and adding their members."""

from __future__ import annotations

import pghistory
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from fintech.compliance.models import ComplianceStatus
from fintech.compliance.screening.services import membership_screen, profile_screen
from fintech.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Membership, Profile
from fintech.customers.validators import profile_input_clean


@service_transaction
def profile_create(
    *,
    actor: Actor,
    kind: str,
    legal_name: str,
    registration_number: str,
    country: str,
    address_line1: str,
    city: str,
    postal_code: str,
    email: str,
    address_line2: str = "",
    is_sandbox: bool = False,
) -> Profile:
    """Create a profile with its compliance status (unverified).

    Every field is validated first; on any error ValidationFailed names each bad field
    and nothing is saved.
    """
    data = profile_input_clean(
        kind=kind,
        legal_name=legal_name,
        registration_number=registration_number,
        country=country,
        address_line1=address_line1,
        address_line2=address_line2,
        city=city,
        postal_code=postal_code,
        email=email,
    )
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        profile = Profile.objects.create(
            kind=data.kind,
            legal_name=data.legal_name,
            registration_number=data.registration_number,
            country=data.country,
            address_line1=data.address_line1,
            address_line2=data.address_line2,
            city=data.city,
            postal_code=data.postal_code,
            email=data.email,
            is_sandbox=bool(is_sandbox),
        )
        ComplianceStatus.objects.create(profile=profile)
    audit_record(
        actor=actor,
        action="profile.created",
        target=profile,
        data={"kind": profile.kind, "country": profile.country, "is_sandbox": profile.is_sandbox},
    )
    event_emit(
        type="customer.created",
        profile_id=profile.pk,
        payload={
            "profile_id": profile.pk,
            "kind": profile.kind,
            "country": profile.country,
            "is_sandbox": profile.is_sandbox,
        },
    )
    # Screened in this transaction: the profile never exists unscreened (a hit holds it).
    profile_screen(actor=actor, profile=profile)
    return profile


@service_transaction
def membership_add(*, actor: Actor, profile: Profile, user: User, role: str) -> Membership:
    """Make `user` a member of `profile` with `role`; a second membership is a Conflict."""
    if role not in Membership.Role.values:
        raise ValidationFailed(
            [
                FieldError(
                    "role", "invalid_choice", f"must be one of {', '.join(Membership.Role.values)}"
                )
            ]
        )
    try:
        # A savepoint, so a duplicate leaves the caller's transaction usable.
        with transaction.atomic(), pghistory.context(actor=actor.label):
            membership = Membership.objects.create(profile=profile, user=user, role=role)
    except IntegrityError as exc:
        raise Conflict(
            f"{user.get_username()} is already a member of {profile}",
            fields=[FieldError("user", "already_member", "is already a member of this profile")],
        ) from exc
    audit_record(
        actor=actor,
        action="membership.added",
        target=membership,
        data={"profile_id": profile.pk, "user_id": user.pk, "role": role},
    )
    event_emit(
        type="customer.member_added",
        profile_id=profile.pk,
        payload={"profile_id": profile.pk, "user_id": user.pk, "role": role},
    )
    membership_screen(actor=actor, membership=membership)
    return membership


@service_transaction
def membership_remove(*, actor: Actor, membership: Membership | int, reason: str = "") -> None:
    """Remove a user from a profile. The last owner cannot be removed (a profile without an
    owner has nobody who may add members again)."""
    pk = membership.pk if isinstance(membership, Membership) else membership
    try:
        profile_id = Membership.objects.values_list("profile_id", flat=True).get(pk=pk)
    except Membership.DoesNotExist as exc:
        raise NotFound(f"Membership {pk} not found") from exc
    # Why the lock on the profile row: two concurrent removals of a profile's last two owners
    # would each see the other owner left and both succeed. Locking the one profile row (not
    # the membership rows, which two removals would lock in opposite orders) serialises them.
    Profile.objects.select_for_update().only("pk").get(pk=profile_id)
    locked = Membership.objects.filter(pk=pk).first()
    if locked is None:  # removed by someone else while we waited for the lock
        raise NotFound(f"Membership {pk} not found")
    if (
        locked.role == Membership.Role.OWNER
        and not Membership.objects.filter(profile_id=profile_id, role=Membership.Role.OWNER)
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise Conflict(
            "The last owner of a profile cannot be removed; add another owner first",
            fields=[FieldError("membership", "last_owner", "is the profile's last owner")],
        )
    data = {"profile_id": profile_id, "user_id": locked.user_id, "role": locked.role}
    audit_record(actor=actor, action="membership.removed", target=locked, reason=reason, data=data)
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        locked.delete()
    event_emit(type="customer.member_removed", profile_id=profile_id, payload=data)


@service_transaction
def profile_account_manager_set(
    *, actor: Actor, profile_id: int, email: str, name: str, reason: str = ""
) -> tuple[Profile, bool]:
    """Assign the profile's account manager (from the CRM's owner, say); returns the profile
    and whether it changed. A change is audited and emitted as
    `customer.account_manager_changed`, which is how the new manager is told."""
    try:
        # Why the lock: two deliveries of owner changes must apply one after the other.
        profile = Profile.objects.select_for_update().get(pk=profile_id)
    except Profile.DoesNotExist as exc:
        raise NotFound(f"Profile {profile_id} not found") from exc
    email, name = email.strip().lower()[:254], name.strip()[:200]
    if (profile.account_manager_email, profile.account_manager_name) == (email, name):
        return profile, False
    before = {"email": profile.account_manager_email, "name": profile.account_manager_name}
    profile.account_manager_email, profile.account_manager_name = email, name
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        profile.save(update_fields=["account_manager_email", "account_manager_name", "updated_at"])
    data = {"profile_id": profile.pk, "before": before, "email": email, "name": name}
    audit_record(
        actor=actor, action="profile.account_manager_set", target=profile, reason=reason, data=data
    )
    event_emit(
        type="customer.account_manager_changed",
        profile_id=profile.pk,
        payload={"profile_id": profile.pk, "account_manager_email": email},
    )
    return profile, True
