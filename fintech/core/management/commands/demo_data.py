"""Load the demo data (idempotent: a second run creates nothing twice)."""

from typing import Any

from django.core.management.base import BaseCommand

from fintech.core.demo import demo_data_load


class Command(BaseCommand):
    help = "Create demo businesses, people, beneficiaries, quotes and transfers in every state."

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_data_load()
        summary = ", ".join(f"{count} {what}" for what, count in created.items())
        self.stdout.write(f"Demo data loaded ({summary} new).")
