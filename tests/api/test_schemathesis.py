"""schemathesis against /api/v1/schema/ on a live server: generated requests (valid and
invalid) for every operation, with alice's token holding every scope. No response may be a
5xx, every response must conform to the document (status codes, content types, bodies), and
the document and the server agree both ways: a request the document allows is not refused as
malformed (positive_data_acceptance), one it forbids is refused (negative_data_rejection).

The one exception, kept short and named: refusals no schema can express (a bank account's
checksum, funds, a state) are allowed in positive mode by their stable error codes only.
Bounded: MAX_EXAMPLES random examples per operation and mode (derandomized) and the coverage
phase's deterministic edges, split in shards of well under a minute each on 2 cores."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from fintech.api.idempotency import KEY_PATTERN
from fintech.payments.services.requests import payment_batch_create
from fintech.payments.services.vendors import vendor_upsert
from fintech.payments.validation import PaymentRequestInput
from fintech.quotes.services import quote_create
from fintech.transfers.services import transfer_create
from integrations.sync import adapters
from tests.api.conftest import OPS, fund_wallet, issue_client
from tests.builders import build_beneficiary, build_profile, build_user
from tests.sync.conftest import FakeBooks

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Random examples per operation and mode (hypothesis). Boundaries (limit=0 and 101, a key of
# 256 characters, one unknown property) come from schemathesis' coverage phase, which walks
# each parameter's edges deterministically: random negative examples mutate several at once
# and miss them. Operations are split in SHARDS tests, each well under a minute on 2 cores.
MAX_EXAMPLES = 8
SHARDS = 1
COVERAGE_SHARDS = 3

# Stable codes of refusals that depend on data or state, not on the request's shape: a valid
# request per the document may still get them. Anything else in a positive-mode refusal
# (a range, a pattern, an enum, an unknown property, a type) is a mismatch to fix.
NOT_EXPRESSIBLE_IN_SCHEMA = {
    # (field, code) of each error in the problem; "" for a problem with no field errors.
    ("", "insufficient_funds"),  # 422: the balance, not the request
    ("quote_id", "quote_expired"),  # 422: the clock
    # The fee schedule: an amount must cover the fee, and convert to at least one minor unit.
    *(
        (f"{side}_amount", code)
        for side in ("source", "target")
        for code in ("amount_below_fee", "amount_too_small")
    ),
    # A beneficiary's state and currency, against the quote's.
    ("beneficiary_id", "beneficiary_inactive"),
    ("beneficiary_id", "currency_mismatch"),
    # Bank details: checksums, lengths per country, a BIC of the IBAN's country, what a
    # country's accounts can receive (fintech/beneficiaries/validators.py).
    *(
        (f"details.{key}", code)
        for key in ("iban", "bic", "ifsc", "routing_number", "account_number", "sort_code")
        for code in (
            "invalid_checksum",
            "invalid_format",
            "invalid_length",
            "invalid_country",
            "unsupported_country",
            "bic_country_mismatch",
        )
    ),
    ("details.account_type", "invalid_choice"),  # "checking" or "savings", after lower()
    # The reasons a wallet funding takes are in the document (a oneOf branch narrowing `reason`),
    # but the fuzzer's coverage phase draws `reason` from the property's own enum.
    ("reason", "not_for_funding"),
    ("currency", "currency_not_receivable"),
    ("country", "country_mismatch"),
    # Unicode categories (isprintable) are not portable in a schema pattern.
    ("holder_name", "invalid_characters"),
    # The address a webhook URL's host resolves to must be public (resolved at creation), and
    # a business has at most MAX_ENDPOINTS_PER_PROFILE of them.
    ("url", "unsafe_url"),
    ("url", "too_many_endpoints"),
    # ERP payment requests and vendors (fintech/payments/validation.py): the business's
    # verification, its vendors and beneficiaries, routes, limits, the calendar, ids seen.
    ("profile", "profile_not_verified"),
    ("vendor_id", "unknown_vendor"),
    ("vendor_id", "vendor_inactive"),
    ("vendor_id", "beneficiary_inactive"),
    ("beneficiary_id", "unknown_beneficiary"),
    ("currency", "currency_mismatch"),
    ("source_currency", "currency_pair_unsupported"),
    ("amount", "amount_above_limit"),
    ("amount", "too_many_decimals"),  # decimals per currency: the pattern allows up to 3
    ("due_date", "due_date_out_of_range"),
    ("erp_payment_id", "duplicate_erp_payment_id"),
    ("erp_batch_id", "duplicate_batch"),
    ("erp_vendor_id", "vendor_inactive"),
    ("erp_vendor_id", "unknown_vendor"),
    ("approver", "approver_not_a_person"),
    ("approver", "maker_cannot_approve"),
    ("approver", "approver_not_member"),
    ("", "transition_not_allowed"),
    ("date_to", "invalid_period"),  # a period of 1 to 366 days
    ("source_currency", "required"),  # a file without DbtrAcct/Ccy needs one
    # A file's content: well-formed pain.001 of a known version, valid, sums that add up.
    *(("file", code) for code in ("FF01", "AM10", "AM18", "invalid_base64")),
    ("file", "duplicate_message_id"),
}
# A batch's item errors are named `requests[3].amount`, `vendors[0].details.iban`: the item's
# own (field, code) is what counts.
_ITEM_PREFIX = re.compile(r"^(?:requests|vendors)\[\d+\]\.")


def _refusal_codes(response) -> set[tuple[str, str]]:
    try:
        body = response.json()
    except ValueError:
        return set()
    codes = {
        (_ITEM_PREFIX.sub("", str(e.get("field"))), str(e.get("code")))
        for e in body.get("errors") or []
    }
    return codes or {("", str(body.get("code")))}


def positive_data_acceptance_unless_not_expressible(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        codes = _refusal_codes(response)
        if codes and codes <= NOT_EXPRESSIBLE_IN_SCHEMA:
            return None
        raise AssertionError(f"refused with {sorted(codes)}: {response.text[:500]}") from None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance_unless_not_expressible,
    negative_data_rejection,
]
_VALID_KEY = re.compile(KEY_PATTERN)


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    connection.close()


@dataclass(frozen=True)
class Fuzzing:
    token: str
    # Real ids of alice's objects, so generated requests also reach the handlers' happy paths.
    path_parameters: dict[str, str]


@pytest.fixture(autouse=True)
def _an_accounting_provider():
    """POST /accounting/connections takes the providers whose connector is installed: one
    that starts a real OAuth dance (its authorization URL; nothing is called at the start)."""
    adapter = FakeBooks(base="http://127.0.0.1:9")
    adapters.register_adapter(adapter)
    yield
    adapters._adapters.pop(adapter.provider, None)


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
    # An ERP vendor and a batch of one payment request (awaiting approval: a new vendor).
    vendor_upsert(
        actor=OPS, profile=alice, erp_vendor_id="V-FUZZ", name="Fuzz GmbH",
        holder_name="Fuzz GmbH", currency="EUR", country="DE", scheme="iban",
        details={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
    )  # fmt: skip
    batch = payment_batch_create(
        actor=OPS, profile=alice, erp_batch_id="RUN-FUZZ",
        items=[
            PaymentRequestInput(
                erp_payment_id="PAY-FUZZ", amount="10.00", currency="EUR",
                source_currency="GBP", vendor_id="V-FUZZ", due_date=timezone.localdate(),
            )
        ],
    )  # fmt: skip
    # No 429s: a throttled answer would hide what the request itself gets.
    issued = issue_client(alice, rate_limit_per_minute=1_000_000)
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
            "erp_vendor_id": "V-FUZZ",
            "request_id": str(batch.requests[0].pk),
            "batch_id": str(batch.batch.pk),
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
        _call_and_validate(case, token)

    run()


def _call_and_validate(case, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    # A generated key that is valid is made unique (generators repeat "0" often, and a
    # repeated key with another body is a legitimate 422); an invalid one is kept, as the
    # negative mode generated it to be refused.
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and _VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = key[:200] + uuid.uuid4().hex
    if case.meta and case.meta.generation.mode is GenerationMode.POSITIVE and case.query:
        # A cursor is opaque: only the server makes valid ones (a made-up one is a 400).
        case.query.pop("cursor", None)
    case.call_and_validate(headers=headers, checks=CHECKS)


def _operations(live_server, shard: int, shards: int) -> tuple[Any, list[Any]]:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json")
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=lambda o: o.label)
    return schema, operations[shard::shards]


@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_api_answers_every_generated_request_per_its_document(
    live_server, alice_fuzzing, mode, shard
) -> None:
    # schemathesis' own pytest integration (`from_fixture`) does not run on pytest 9 yet, so
    # each operation is driven here through its hypothesis strategy.
    _, operations = _operations(live_server, shard, SHARDS)
    failures: list[str] = []
    exercised = 0
    for operation in operations:
        # Generated path ids (mostly 404s), then alice's real objects where the path has ids.
        known = {
            name: value
            for name, value in alice_fuzzing.path_parameters.items()
            if f"{{{name}}}" in operation.path
        }
        runs: list[dict[str, str] | None] = [None]
        if known and mode is GenerationMode.POSITIVE:
            runs.append(known)
        for path_parameters in runs:
            try:
                _exercise(operation, mode, alice_fuzzing.token, path_parameters)
            except Unsatisfiable:
                continue  # nothing in this operation can be made invalid (no parameters)
            except (Exception, BaseExceptionGroup) as exc:  # collected: report every one
                failures.append(f"{operation.label} ({mode.value}, {path_parameters}): {exc}")
            exercised += 1
    assert exercised >= 8  # the document lists every operation
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("shard", range(COVERAGE_SHARDS))
def test_every_parameter_edge_is_answered_per_the_document(
    live_server, alice_fuzzing, shard
) -> None:
    """schemathesis' coverage phase: for each operation, every parameter and property at its
    edges (minimum and maximum, one past them, a wrong type, missing, one unknown), valid and
    invalid, deterministically (about 1,000 requests in all)."""
    schema, operations = _operations(live_server, shard, COVERAGE_SHARDS)
    failures: list[str] = []
    cases = 0
    for operation in operations:
        generated = schema.iter_coverage_cases(
            operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=schema.config.generation_for(operation=operation),
        )
        for case in generated:
            cases += 1
            try:
                _call_and_validate(case, alice_fuzzing.token)
            except (Exception, BaseExceptionGroup) as exc:  # collected: report every one
                mode = case.meta.generation.mode.value if case.meta else "?"
                failures.append(
                    f"{operation.label} ({mode}) path={case.path_parameters} "
                    f"query={case.query} body={str(case.body)[:200]}: {str(exc)[:600]}"
                )
    assert cases >= 150
    assert not failures, "\n\n".join(failures)
