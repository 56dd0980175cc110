"""Run inside the fault harness's own stack (`python -m tests.faults.driver setup|state`, with
DATABASE_URL and REDIS_URL pointing at its private servers): set up the customer, and report
the invariants as JSON. A subprocess, because this pytest process's Django talks to the
session's test database, not to the harness's."""

from __future__ import annotations

import json
import sys
from typing import Any


def setup(receiver_url: str) -> dict[str, Any]:
    from fintech.api.scopes import ALL_SCOPES
    from fintech.api.services import api_client_create
    from fintech.core.services import Actor
    from integrations.webhooks.services import endpoint_create
    from tests.builders import build_beneficiary, build_profile, build_user, build_wallet_funding

    ops = Actor.system("faults")
    alice = build_profile(
        legal_name="Alice Sandbox Ltd",
        owner=build_user("alice"),
        is_sandbox=True,
        verified=True,
    )
    build_wallet_funding(profile=alice, currency="GBP", amount_minor=100_000_000)
    beneficiary = build_beneficiary(profile=alice, currency="EUR", holder_name="Lieferant GmbH")
    issued = api_client_create(
        actor=ops, profile=alice, name="Alice ERP (sandbox)", scopes=list(ALL_SCOPES)
    )
    endpoint = endpoint_create(actor=ops, profile=alice, url=receiver_url)
    return {
        "profile_id": alice.pk,
        "beneficiary_id": beneficiary.pk,
        "client_id": issued.client_id,
        "client_secret": issued.client_secret,
        "webhook_secret": endpoint.secret,
    }


def state(profile_id: int) -> dict[str, Any]:
    """What must hold once the stack has recovered."""
    from django.db.models import Count

    from fintech.core.models import OutboxEvent
    from fintech.transfers.models import Transfer
    from integrations.models import PayoutInstruction, WebhookDelivery, WebhookEndpoint
    from ledger.models import JournalEntry

    # Events from before the customer subscribed (its own set-up) have nobody to go to.
    subscribed_at = WebhookEndpoint.objects.filter(profile_id=profile_id).earliest("created_at")
    events = OutboxEvent.objects.filter(
        profile_id=profile_id, occurred_at__gte=subscribed_at.created_at
    )
    delivered_events = WebhookDelivery.objects.values("event_id")
    submitted = Transfer.objects.filter(profile_id=profile_id).exclude(
        state__in=[Transfer.State.CREATED, Transfer.State.FUNDED, Transfer.State.CANCELLED]
    )
    return {
        "events": events.count(),
        "events_pending": events.filter(status=OutboxEvent.Status.PENDING).count(),
        # Fanned out: every event of the profile has its delivery to the profile's endpoint.
        "events_not_fanned_out": sorted(
            f"{e.type} {e.pk}" for e in events.exclude(pk__in=delivered_events)
        ),
        "deliveries": dict(
            WebhookDelivery.objects.values_list("status").annotate(n=Count("pk")).order_by()
        ),
        "webhook_ids": sorted(WebhookDelivery.objects.values_list("webhook_id", flat=True)),
        "transfers": dict(
            Transfer.objects.filter(profile_id=profile_id)
            .values_list("state")
            .annotate(n=Count("pk"))
            .order_by()
        ),
        "submitted_without_payout": submitted.exclude(
            pk__in=PayoutInstruction.objects.values("transfer_id")
        ).count(),
        "duplicate_ledger_keys": list(
            JournalEntry.objects.values("idempotency_key")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .values_list("idempotency_key", flat=True)
        ),
    }


def main(argv: list[str]) -> int:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fintech.settings")
    django.setup()
    if argv[1] == "setup":
        result = setup(argv[2])
    elif argv[1] == "state":
        result = state(int(argv[2]))
    else:
        raise SystemExit(f"unknown command {argv[1]!r}")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
