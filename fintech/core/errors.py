"""Domain errors with stable machine codes.

Clients branch on `code`, not on the message. Each error knows its HTTP status so
one API handler can turn every error into problem+json, and the admin can show
the message as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from django.db import InterfaceError, OperationalError


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    code = "domain_error"
    status = 400
    title = "The request could not be processed"

    def __init__(self, message: str | None = None, *, fields: list[FieldError] | None = None):
        self.message = message or self.title
        self.fields = fields or []
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 400
    title = "Some fields are invalid"

    def __init__(self, fields: list[FieldError], message: str | None = None):
        if message is None:
            message = "; ".join(f"{f.field}: {f.message}" for f in fields)
        super().__init__(message, fields=fields)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
    title = "This action is not allowed in the current state"


class QuoteExpired(DomainError):
    code = "quote_expired"
    status = 422
    title = "The quote has expired"


class ComplianceBlocked(DomainError):
    code = "compliance_blocked"
    status = 403
    title = "The profile's compliance status does not allow this"


class LedgerRefused(DomainError):
    """The ledger refused a money movement (insufficient funds, say); carries the ledger's
    own stable code and status, so clients see `insufficient_funds`, not a generic error."""

    code = "ledger_refused"
    status = 422
    title = "The ledger refused the money movement"

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


# --- transient database errors ---------------------------------------------------------------
#
# The database restarting, failing over or refusing connections for a moment, a serialization
# failure or a deadlock: trying the same thing again shortly can succeed. psycopg's
# SerializationFailure, DeadlockDetected, AdminShutdown, CannotConnectNow and friends are all
# psycopg.OperationalError; Django re-raises them as django.db.OperationalError (the psycopg
# one as its __cause__) and a connection closed under it as django.db.InterfaceError.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

# What we tell a client to wait before trying again (a restart takes about a second; a
# failover a few).
DATABASE_RETRY_AFTER_SECONDS = 5


def is_transient_db_error(exc: BaseException | None) -> bool:
    """True if `exc` (or what it was raised from) is a database error a retry may cure."""
    seen = 0
    while exc is not None and seen < 5:  # a short chain: wrappers of wrappers
        if isinstance(exc, TRANSIENT_DB_ERRORS):
            return True
        exc = exc.__cause__
        seen += 1
    return False


class ServiceUnavailable(DomainError):
    """The database is unavailable for a moment: try again after `Retry-After` seconds."""

    code = "service_unavailable"
    status = 503
    title = "Temporarily unavailable"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "The service is briefly unavailable; retry after the Retry-After seconds "
            "(with the same Idempotency-Key, if any)."
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}


class ScreeningHold(ComplianceBlocked):
    """A sanctions screening hit holds the profile or beneficiary: nothing is paid out until a
    compliance officer decides. The message names the hold, never the list or the match."""

    code = "screening_hold"
    status = 409
    title = "On hold by compliance screening"


class ComplianceHold(ComplianceBlocked):
    """Transaction monitoring holds the transfer: it is not submitted for payout until a
    compliance officer decides. The message says that it is held, never why (no tipping off)."""

    code = "compliance_hold"
    status = 409
    title = "On hold by compliance"
