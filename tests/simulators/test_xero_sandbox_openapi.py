"""Our answers against Xero's published OpenAPI description (xero_accounting.yaml, read from
../shared/third_party, never copied): every envelope and the ValidationException body match
its schemas (types, enums, shapes), a second check beside the SDK's models."""

from __future__ import annotations

import functools

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.simulators.test_xero_sandbox_api import (
    contact_of,
    invoice_body,
)
from tests.simulators.test_xero_sandbox_api import (
    test_a_bill_a_credit_note_and_its_allocation as make_bill_and_credit_note,
)
from tests.simulators.test_xero_sandbox_api import (
    test_bank_transactions_and_manual_journals as make_bank_transactions_and_journal,
)
from tests.third_party import XERO_ACCOUNTING_SPEC

SPEC = XERO_ACCOUNTING_SPEC
URI = "urn:xero-accounting"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not SPEC.exists(), reason="Xero's OpenAPI description is not on this machine"
    ),
]


@functools.cache
def registry() -> Registry:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(SPEC.read_text(), Loader=loader)  # noqa: S506  (a safe loader)
    return Registry().with_resource(URI, Resource.from_contents(spec, default_specification=DRAFT4))


def problems(schema: str, body: dict) -> list[str]:
    validator = OAS30Validator({"$ref": f"{URI}#/components/schemas/{schema}"}, registry=registry())
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(body)]


def test_every_answer_matches_xeros_schemas(xero) -> None:
    assert problems("Invoices", {"Invoices": [{"Type": "ACCRECC"}]})  # the check bites
    make_bill_and_credit_note(xero)
    make_bank_transactions_and_journal(xero)
    for resource in (
        "Contacts",
        "Invoices",
        "CreditNotes",
        "BankTransactions",
        "ManualJournals",
        "Accounts",
        "Currencies",
    ):
        answer = xero.call("GET", resource).json()
        assert answer[resource], resource
        assert problems(resource, answer) == [], resource
    assert problems("Organisations", xero.call("GET", "Organisation").json()) == []


def test_payments_and_allocations_match_xeros_schemas(xero) -> None:
    alice = contact_of(xero)
    invoice = xero.ok("PUT", "Invoices", invoice_body(alice["ContactID"]))["Invoices"][0]
    paid = xero.call(
        "PUT",
        "Payments",
        {
            "Payments": [
                {
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                    "Account": {"Code": "092"},
                    "Amount": 1,
                }
            ]
        },
    ).json()
    assert problems("Payments", paid) == []


def test_a_refusal_matches_xeros_error_schema(xero) -> None:
    alice = contact_of(xero)
    body = invoice_body(alice["ContactID"], CurrencyCode="JPY")
    refused = xero.call("PUT", "Invoices", body)
    assert refused.status_code == 400
    assert problems("Error", refused.json()) == []
