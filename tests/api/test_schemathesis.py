"""schemathesis against /api/v1/schema/ on a live server: generated requests (valid and
invalid) for every operation, with alice's token holding every scope and a fresh
Idempotency-Key per request. No response may be a 5xx, and every response must conform to
the document (status codes, content types, bodies)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fintech.quotes.services import quote_create
from fintech.transfers.services import transfer_create
from tests.api.conftest import OPS, fund_wallet, issue_client
from tests.builders import build_beneficiary, build_profile, build_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    connection.close()


@dataclass(frozen=True)
class Fuzzing:
    token: str
    # Real ids of alice's objects, so generated requests also reach the handlers' happy paths.
    path_parameters: dict[str, str]


@pytest.fixture
def alice_fuzzing(live_server) -> Fuzzing:
    """A sandbox business with a quote, a beneficiary and a transfer; a client-credentials
    token holding every scope."""
    owner = build_user("alice-fuzz")
    alice = build_profile(legal_name="Alice Trading Ltd", owner=owner, is_sandbox=True)
    fund_wallet(alice, "GBP", 1_000_000)
    beneficiary = build_beneficiary(profile=alice, currency="EUR")
    quote = quote_create(
        actor=OPS, profile=alice, source_currency="GBP", target_currency="EUR",
        source_amount="100.00",
    )  # fmt: skip
    transfer = transfer_create(
        actor=OPS, profile=alice, quote_id=quote.pk, beneficiary_id=beneficiary.pk,
        customer_transaction_id="INV-FUZZ-1",
    )  # fmt: skip
    issued = issue_client(alice)
    response = requests.post(
        f"{live_server.url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(issued.client_id, issued.client_secret),
        timeout=10,
    )
    return Fuzzing(
        token=str(response.json()["access_token"]),
        path_parameters={
            "quote_id": str(quote.pk),
            "beneficiary_id": str(beneficiary.pk),
            "transfer_id": str(transfer.pk),
        },
    )


def _exercise(
    operation, mode: GenerationMode, token: str, path_parameters: dict[str, str] | None
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case) -> None:
        # Whatever the generator put there: a valid token, and a key never seen before (a
        # repeated key with another body is a legitimate 422, not what this test looks for).
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_the_api_answers_every_generated_request_per_its_document(
    live_server, alice_fuzzing
) -> None:
    # schemathesis' own pytest integration (`from_fixture`) does not run on pytest 9 yet, so
    # each operation is driven here through its hypothesis strategy.
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json")
    failures: list[str] = []
    exercised = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        # Generated path ids (mostly 404s), then alice's real objects where the path has ids.
        known = {
            name: value
            for name, value in alice_fuzzing.path_parameters.items()
            if f"{{{name}}}" in operation.path
        }
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if known:
            runs.append((GenerationMode.POSITIVE, known))
        for mode, path_parameters in runs:
            try:
                _exercise(operation, mode, alice_fuzzing.token, path_parameters)
            except Unsatisfiable:
                continue  # nothing in this operation can be made invalid (no parameters)
            except (Exception, BaseExceptionGroup) as exc:  # collected: report every one
                failures.append(f"{operation.label} ({mode.value}, {path_parameters}): {exc}")
            exercised += 1
    assert exercised >= 30  # the document lists every operation
    assert not failures, "\n\n".join(failures)
