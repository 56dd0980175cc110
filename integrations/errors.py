"""Errors of connectors and webhook processing: each says whether trying again can help."""

from __future__ import annotations


class IntegrationError(Exception):
    """Base of every connector error. `transient`: a retry later may succeed."""

    transient = False

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TransientError(IntegrationError):
    """Timeouts, connection errors, 429 and 5xx: retried with backoff."""

    transient = True


class PermanentError(IntegrationError):
    """The partner refused the request as it is (4xx, unknown reference): an operator looks."""

    transient = False


class RateLimited(TransientError):
    """The provider's call budget is spent (its 429, or ours counted ahead of it): try again
    after `retry_after_seconds`. Not a failure of the job: no attempt is spent on it."""

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ReconnectRequired(PermanentError):
    """The provider refused our refresh token (revoked, expired, used twice): the connection
    needs an operator or the customer to connect again. Its queue pauses; no job is lost."""


class NotReady(TransientError):
    """Something this job needs is not there yet (the invoice a payment applies to)."""
