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
