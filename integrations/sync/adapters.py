"""What a connector gives the sync engine: one adapter per provider, registered at start-up.

The engine (services.py, oauth.py) never imports a connector: it asks `adapter_for(provider)`.
A connector's package registers its adapter in its `register()`, as it registers its event
handlers (integrations/registry.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from integrations.sync.models import Connection, SyncJob


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    revoke_url: str
    scope: str
    # Where the provider may be reached (SSRF pinning; the sandbox is on 127.0.0.1).
    allow_private: bool = False
    # How the revocation endpoint takes the token: RFC 7009's form (Xero) or a JSON body
    # `{"token": ...}` (Intuit's).
    revoke_json: bool = False


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    connection_ref: str = ""  # the provider's id of this grant (Xero's connection id)


@dataclass(frozen=True)
class Organisation:
    base_currency: str
    currencies: tuple[str, ...]
    name: str = ""


@dataclass(frozen=True)
class AccountInfo:
    external_id: str
    code: str
    name: str
    type: str
    account_class: str
    status: str
    currency: str = ""

    @property
    def active(self) -> bool:
        return self.status.upper() == "ACTIVE"


@dataclass(frozen=True)
class Role:
    """A slot of the account mapping: what it receives and which account types fit it."""

    name: str
    meaning: str
    account_types: tuple[str, ...] = ()  # empty: any type
    required: bool = True
    currency: str = ""  # a bank account in this currency only (empty: any)


@dataclass(frozen=True)
class Synced:
    """What a job achieved: the external object and its version."""

    external_id: str
    external_version: str = ""
    external_number: str = ""
    payload_hash: str = ""
    summary: dict[str, str] = field(default_factory=dict)  # total, currency, status


@dataclass(frozen=True)
class Skipped:
    note: str


@dataclass
class JobContext:
    """What the engine hands an adapter for one job."""

    connection: Connection
    job: SyncJob
    roles: dict[str, str] = field(default_factory=dict)  # role -> account code
    prerequisite_external_id: str = ""  # the external id of `job.depends_on`


class SyncAdapter(Protocol):
    provider: str
    kind: str

    def oauth(self) -> OAuthConfig: ...

    def tenants(self, *, access_token: str, callback: Mapping[str, str]) -> list[Tenant]:
        """The organisations a new grant reaches. `callback` holds what the provider sent
        back beside the code and state (Intuit's `realmId`, say; empty for most)."""
        ...

    def organisation(self, *, connection: Connection) -> Organisation: ...

    def accounts(self, *, connection: Connection) -> list[AccountInfo]: ...

    def roles(self, *, connection: Connection) -> tuple[Role, ...]: ...

    def perform(self, context: JobContext) -> Synced | Skipped: ...

    def disconnect(self, *, connection: Connection) -> None: ...


_adapters: dict[str, SyncAdapter] = {}


def register_adapter(adapter: SyncAdapter) -> None:
    _adapters[adapter.provider] = adapter


def adapter_for(provider: str) -> SyncAdapter:
    try:
        return _adapters[provider]
    except KeyError:
        raise LookupError(f"no sync adapter is registered for provider {provider!r}") from None


def providers() -> list[str]:
    return sorted(_adapters)
