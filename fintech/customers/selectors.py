"""Reads for customers. A profile the user is not a member of does not exist for them (404)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from fintech.core.errors import NotFound
from fintech.customers.models import Profile


def profiles_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Profile]:
    """The profiles `user` is a member of, with their compliance status loaded."""
    if not user.is_authenticated:
        return Profile.objects.none()
    return (
        Profile.objects.filter(memberships__user_id=user.pk)
        .select_related("compliance")
        .order_by("legal_name", "id")
    )


def profile_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, profile_id: int | str
) -> Profile:
    """One of `user`'s profiles; another customer's id is NotFound, never a 403."""
    try:
        return profiles_for_user(user=user).get(pk=int(profile_id))
    except (Profile.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"Profile {profile_id} not found") from exc
