"""Helpers for the case tests: officers, and a held beneficiary that opens a case."""

from __future__ import annotations

from django.contrib.auth.models import Group

from fintech.compliance.models import Case, ScreeningHit
from fintech.core.services import Actor
from tests.builders import build_beneficiary, build_user

LISTED = ["Blue Horizon Trading FZE", "Viktor Sokolov", "Ivan Petrov"]


def officer(username: str, role: str = "compliance"):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def actor_of(user) -> Actor:
    return Actor.for_user(user, request_id=f"req-{user.username}")


def held_beneficiary(profile, name: str = "Blue Horizon Trading FZE"):
    """A beneficiary whose holder is listed: its hit opens (or joins) the profile's case."""
    beneficiary = build_beneficiary(profile=profile, currency="EUR", holder_name=name)
    hit = ScreeningHit.objects.get(subject_id=beneficiary.pk, subject_type="beneficiary")
    return beneficiary, hit


def case_of(profile) -> Case:
    return Case.objects.get(profile=profile)
