"""Staff second factor (django-otp) and the staff sign-in trail.

Each staff user has at most one confirmed TOTP device (an authenticator app) and one static
device holding single-use recovery codes. Enrolment confirms both at once, after the user
proved the app works with one code. A reset (admin only) deletes both, so the next sign-in
enrols again. Every step is an AuditEvent on the user: `login.succeeded`, `login.failed`,
`two_factor.device_added`, `two_factor.verified`, `two_factor.failed`, `two_factor.reset`.

Replay: TOTPDevice.verify_token refuses any time step at or before the last one accepted
(`last_t`), and a recovery code is deleted when used. Guessing: both devices throttle (each
failure doubles the wait before the next try is even checked), on top of the password's
lockout (django-axes)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user, match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from fintech.core.security import client_ip
from fintech.core.services import Actor, audit_record

TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def _request_id(request: HttpRequest | None) -> str:
    return str(getattr(request, "request_id", "")) if request is not None else ""


def device_kind(device: Device) -> str:
    return "recovery_code" if isinstance(device, StaticDevice) else "totp"


def staff_has_device(user: Any) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def staff_totp_pending(*, user: Any) -> TOTPDevice:
    """The unconfirmed TOTP device whose key the enrolment page shows (one per user, kept
    across reloads so the code from an app scanned a minute ago still matches)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def staff_totp_confirm(
    *, user: Any, device: TOTPDevice, token: str, request_id: str = ""
) -> list[str] | None:
    """Confirm a pending TOTP device with a code from the app, and create the recovery codes.

    Returns the recovery codes (shown once, to this response only), or None if the code is
    wrong. Refused if the user already has a confirmed device: adding a second one would let
    whoever holds only the password replace the factor."""
    with transaction.atomic():
        # Row lock: two tabs confirming at once must not create two sets of recovery codes.
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        if device.confirmed or staff_has_device(user):
            return None
        if not device.verify_token(token):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()  # leftovers of an abandoned enrolment
        recovery = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
        codes = [StaticToken.random_token() for _ in range(settings.STAFF_RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
        actor = Actor.for_user(user, request_id=request_id)
        audit_record(
            actor=actor,
            action="two_factor.device_added",
            target=user,
            data={"totp_device_id": device.pk, "recovery_codes": len(codes)},
        )
        # The confirming code also verifies this session (the view logs the device in).
        audit_record(
            actor=actor,
            action="two_factor.verified",
            target=user,
            data={"device": "totp", "device_id": device.pk, "enrolment": True},
        )
    return codes


def staff_two_factor_verify(*, user: Any, token: str, request_id: str = "") -> Device | None:
    """The confirmed device (TOTP or recovery code) that accepts `token`, or None; audited."""
    token = "".join(token.split())
    device = match_token(user, token) if token else None
    actor = Actor.for_user(user, request_id=request_id)
    if device is None:
        audit_record(actor=actor, action="two_factor.failed", target=user)
        return None
    data: dict[str, Any] = {"device": device_kind(device), "device_id": device.pk}
    if isinstance(device, StaticDevice):
        data["recovery_codes_left"] = device.token_set.count()
    audit_record(actor=actor, action="two_factor.verified", target=user, data=data)
    return device


def staff_two_factor_reset(*, actor: Actor, user: Any, reason: str) -> int:
    """Delete every OTP device of `user` (they enrol again at their next sign-in); audited.

    Sessions the user verified with a deleted device stop being verified at their next request
    (OTPMiddleware reloads the device and finds none)."""
    with transaction.atomic():
        deleted = 0
        for model in (TOTPDevice, StaticDevice):
            deleted += model.objects.filter(user=user).count()
            model.objects.filter(user=user).delete()
        audit_record(
            actor=actor,
            action="two_factor.reset",
            target=user,
            reason=reason,
            data={"devices_deleted": deleted},
        )
    return deleted


# --- signals: the staff sign-in trail --------------------------------------------------------


def staff_login_audit(
    sender: Any, *, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    """user_logged_in: a staff sign-in (password accepted) in the audit trail."""
    if not getattr(user, "is_staff", False):
        return
    audit_record(
        actor=Actor.for_user(user, request_id=_request_id(request)),
        action="login.succeeded",
        target=user,
        data={"path": request.path if request is not None else ""},
    )


def staff_login_failure_audit(
    sender: Any, *, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """user_login_failed: a wrong password for a staff account in the audit trail.

    Names that are not staff accounts are left to django-axes (its attempts, and a lockout
    row in the trail): writing one row per guessed name would let anyone fill the trail."""
    username = str(credentials.get("username") or "")
    user = get_user_model().objects.filter(username=username, is_staff=True).first()
    if user is None:
        return
    ip_address = client_ip(request) if request is not None else ""
    audit_record(
        actor=Actor(label=f"address:{ip_address}", request_id=_request_id(request)),
        action="login.failed",
        target=user,
        data={"username": username, "ip_address": ip_address, "path": getattr(request, "path", "")},
    )
