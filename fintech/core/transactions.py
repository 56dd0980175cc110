"""Service transactions, and the request transaction that makes their savepoints redundant.

A service is one transaction: `@service_transaction` opens it, or, called inside another
transaction, a savepoint, so a caller that catches the service's error can carry on (as
`transaction.atomic` does). A savepoint costs two round trips (SAVEPOINT, RELEASE).

Inside `request_transaction()` nobody carries on after an error: the API's idempotent POSTs
run their whole request in it, and any exception rolls all of it back. A service called
directly in it therefore skips its savepoint. A service nested in another service still takes
one, because the outer service may catch its error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from django.db import transaction
from django.db.transaction import Atomic

P = ParamSpec("P")
R = TypeVar("R")

_request_block: ContextVar[Atomic | None] = ContextVar("request_transaction", default=None)


@contextmanager
def request_transaction() -> Iterator[None]:
    """One transaction for a whole request that nothing inside it recovers from: an error
    rolls everything back (the caller handles it afterwards, outside)."""
    block = transaction.atomic()
    with block:
        token = _request_block.set(block)
        try:
            yield
        finally:
            _request_block.reset(token)


def _directly_in_request_transaction() -> bool:
    block = _request_block.get()
    blocks = transaction.get_connection().atomic_blocks
    return block is not None and bool(blocks) and blocks[-1] is block


def service_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """Run the service in a transaction (see the module's docstring for its savepoint)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(savepoint=not _directly_in_request_transaction()):
            return func(*args, **kwargs)

    return wrapper
