"""Register an OAuth application for a business profile and print its credentials once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from oauth2_provider.models import Application

from fintech.api.scopes import ALL_SCOPES
from fintech.api.services import api_client_create
from fintech.core.errors import ValidationFailed
from fintech.core.services import Actor
from fintech.customers.models import Profile


class Command(BaseCommand):
    help = (
        "Create an API client (OAuth application) bound to a profile. The secret is printed "
        "once; only its hash is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profile", required=True, help="profile id, or its exact legal name")
        parser.add_argument("--name", default="API client")
        parser.add_argument(
            "--scopes",
            default=" ".join(ALL_SCOPES),
            help="space-separated scopes (default: all)",
        )
        parser.add_argument(
            "--authorization-code",
            metavar="REDIRECT_URI",
            help="an authorization-code (PKCE) client with this redirect URI, instead of "
            "client credentials",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = str(options["profile"]).strip()
        profiles = Profile.objects.all()
        profile = (
            profiles.filter(pk=int(wanted))
            if wanted.isdigit()
            else profiles.filter(legal_name=wanted)
        ).first()
        if profile is None:
            raise CommandError(f"No profile with id or legal name {wanted!r}")
        redirect = options["authorization_code"] or ""
        try:
            issued = api_client_create(
                actor=Actor.system("manage.py api_client_create"),
                profile=profile,
                name=options["name"],
                scopes=options["scopes"].split(),
                grant_type=(
                    Application.GRANT_AUTHORIZATION_CODE
                    if redirect
                    else Application.GRANT_CLIENT_CREDENTIALS
                ),
                redirect_uris=redirect,
            )
        except ValidationFailed as exc:
            raise CommandError(exc.message) from exc
        kind = "sandbox" if issued.api_client.is_sandbox else "live"
        self.stdout.write(f"{kind} client for {profile} (profile {profile.pk})")
        self.stdout.write(f"client_id={issued.client_id}")
        self.stdout.write(f"client_secret={issued.client_secret}")
        self.stdout.write(f"scopes={' '.join(issued.api_client.scopes)}")
