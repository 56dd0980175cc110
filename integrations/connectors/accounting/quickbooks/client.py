"""QuickBooks Online's Accounting API (v3) for one connection: tokens, realm, budget, faults.

Every call: one call from the connection's budget (integrations/sync/limits.py), a valid
access token (refreshed one at a time, integrations/sync/oauth.py), the company's realm in the
path (`/v3/company/<realmId>/...`), `minorversion` on every call and `requestid` on every
write (derived from the job: a retried write is answered with the first attempt's result), a
timeout. Answers are read with Decimal numbers (never float).

Errors, sorted for the engine:
- 429, or a Fault of type ThrottleExceeded (code 003001): RateLimited, the whole connection
  waits (Retry-After when given, else a minute: Intuit counts per minute per realm);
- 401 (AuthenticationFault): the access token is dropped and the call tried once more with a
  fresh one (the refresh path); a refused refresh is ReconnectRequired;
- a ValidationFault (or any other Fault on a 4xx): PermanentError with each error's code,
  Message and Detail, for the failed queue; code 5010 (stale SyncToken) is `StaleObject`;
- 5xx, timeouts, connection errors: TransientError (retried with backoff).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from integrations.connectors.accounting.base import AccountingClient
from integrations.connectors.accounting.quickbooks.fields import requestid_for
from integrations.errors import PermanentError, RateLimited, TransientError
from integrations.http import pinned_session
from integrations.sync import limits
from integrations.sync.adapters import Tenant
from integrations.sync.models import Connection

PROVIDER = "quickbooks"
STALE_OBJECT = "5010"  # "Stale Object Error": the SyncToken we sent is not the latest
DUPLICATE_NAME = "6240"  # "Duplicate Name Exists Error" (a Customer's DisplayName)
THROTTLED = ("ThrottleExceeded", "003001", "3001")


def _allow_private() -> bool:
    # The sandbox is served by this project (127.0.0.1); the real Intuit is public.
    return bool(settings.QUICKBOOKS_CONNECTOR == "sandbox" or settings.WEBHOOK_ALLOW_PRIVATE_URLS)


class QuickBooksFault(PermanentError):
    """QuickBooks refused the request as it is (a Fault): each error's code, Message and
    Detail are in the message operators read."""

    def __init__(self, message: str, *, fault_type: str = "", codes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fault_type = fault_type
        self.codes = codes


class StaleObject(QuickBooksFault):
    """Fault 5010: someone changed the object since we read its SyncToken."""


def _get(data: Any, *names: str) -> Any:
    """data[name] under any of `names` (Intuit writes Fault/Error, and fault/error in some
    gateways' answers)."""
    if not isinstance(data, dict):
        return None
    for name in names:
        if name in data:
            return data[name]
    return None


def fault_of(data: Any) -> tuple[str, list[dict[str, str]]] | None:
    """(type, errors) of a Fault answer, each error {code, message, detail, element}."""
    fault = _get(data, "Fault", "fault")
    if not isinstance(fault, dict):
        return None
    errors = []
    for error in _get(fault, "Error", "error") or []:
        if isinstance(error, dict):
            errors.append(
                {
                    "code": str(error.get("code", "")),
                    "message": str(_get(error, "Message", "message") or ""),
                    "detail": str(_get(error, "Detail", "detail") or ""),
                    "element": str(error.get("element", "") or ""),
                }
            )
    return str(fault.get("type", "")), errors


def fault_text(fault_type: str, errors: list[dict[str, str]]) -> str:
    parts = []
    for e in errors:
        text = f"{e['code']} {e['message']}".strip()
        if e["detail"] and e["detail"] != e["message"]:
            text += f": {e['detail']}"
        if e["element"]:
            text += f" (element {e['element']})"
        parts.append(text)
    return f"quickbooks {fault_type or 'Fault'}: " + ("; ".join(parts) or "no detail")


def _throttled(fault_type: str, errors: list[dict[str, str]]) -> bool:
    words = [fault_type] + [e["code"] for e in errors] + [e["message"] for e in errors]
    return any(mark in word for word in words for mark in THROTTLED)


class QuickBooksClient(AccountingClient):
    provider = PROVIDER

    def __init__(self, connection: Connection) -> None:
        self.realm = connection.tenant_id
        super().__init__(
            connection,
            base_url=f"{settings.QUICKBOOKS_API_URL}/company/{quote(self.realm, safe='')}",
            timeout=settings.QUICKBOOKS_TIMEOUT_SECONDS,
            allow_private=_allow_private(),
        )

    # --- one call ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        requestid: str = "",
    ) -> dict[str, Any]:
        if method != "GET" and not requestid:
            raise PermanentError("quickbooks: every write carries a requestid")
        query = dict(params or {})
        query["minorversion"] = str(settings.QUICKBOOKS_MINOR_VERSION)
        if requestid:
            query["requestid"] = requestid
        for attempt in (1, 2):
            response = self.json_call(method, path, params=query, body=body, headers={})
            if response.status_code == 401 and attempt == 1:
                # The access token was refused (revoked, or expired early): the refresh path,
                # once; the next token comes from oauth.access_token, one refresh at a time.
                Connection.objects.filter(pk=self.connection.pk).update(token_expires_at=None)
                continue
            return self._answer(response)
        raise TransientError("quickbooks: unreachable")  # pragma: no cover (loop returns)

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            data = json.loads(response.content, parse_float=Decimal) if response.content else {}
        except ValueError:
            data = {}
        fault = fault_of(data)
        if status == 429 or (fault and _throttled(*fault)):
            default = float(settings.QUICKBOOKS_THROTTLE_WAIT_SECONDS)
            try:
                wait = float(response.headers.get("Retry-After", default))
            except ValueError:
                wait = default
            limits.connection_block(connection_id=self.connection.pk, seconds=wait)
            raise RateLimited("quickbooks: 429 ThrottleExceeded", retry_after_seconds=wait)
        if status == 401:
            raise TransientError("quickbooks: 401 AuthenticationFault after a fresh token")
        if status >= 500 or status in (408, 425):
            detail = fault_text(*fault) if fault else f"HTTP {status}"
            raise TransientError(f"quickbooks: HTTP {status}: {detail}"[:1000])
        if fault:  # 400 (ValidationFault), 403 (AuthorizationFault), 404, or a Fault on 200
            fault_type, errors = fault
            codes = tuple(e["code"] for e in errors)
            kind = StaleObject if STALE_OBJECT in codes else QuickBooksFault
            raise kind(fault_text(fault_type, errors), fault_type=fault_type, codes=codes)
        if status >= 400:
            raise PermanentError(f"quickbooks: HTTP {status}: {response.text[:300]}")
        if not isinstance(data, dict):
            raise TransientError("quickbooks: the answer is not a JSON object")
        return data

    # --- the calls the connector makes -------------------------------------------------

    def query(self, statement: str) -> dict[str, list[dict[str, Any]]]:
        """A query in QuickBooks' query language; its QueryResponse, entity -> rows."""
        data = self.request("GET", "query", params={"query": statement})
        found = data.get("QueryResponse") or {}
        return {k: v for k, v in found.items() if isinstance(v, list)}

    def find(self, statement: str, entity: str) -> dict[str, Any] | None:
        rows = self.query(statement).get(entity) or []
        return rows[0] if rows else None

    def find_by_doc_number(
        self, entity: str, doc_number: str, *, field: str = "DocNumber"
    ) -> dict[str, Any] | None:
        """The `entity` whose DocNumber (a Payment's: PaymentRefNum) is ours (look-up before
        create)."""
        if "'" in doc_number or "\\" in doc_number:
            raise PermanentError(f"reference {doc_number!r} cannot be searched in QuickBooks")
        statement = f"select * from {entity} where {field} = '{doc_number}'"  # noqa: S608
        return self.find(statement, entity)

    def read(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        """The object, or None when QuickBooks no longer has it (deleted: a 610 Fault)."""
        try:
            data = self.request("GET", f"{entity.lower()}/{quote(entity_id, safe='')}")
        except QuickBooksFault as exc:
            if "610" in exc.codes or "Object Not Found" in exc.message:
                return None
            raise
        return _entity(data, entity)

    def create(self, entity: str, body: dict[str, Any], *, requestid: str) -> dict[str, Any]:
        return _entity(self.request("POST", entity.lower(), body=body, requestid=requestid), entity)

    def update(
        self,
        entity: str,
        *,
        entity_id: str,
        sync_token: str,
        changes: dict[str, Any],
        requestid: str,
    ) -> dict[str, Any]:
        """A sparse update under the SyncToken we read (StaleObject when it moved on)."""
        body = {"Id": entity_id, "SyncToken": sync_token, "sparse": True, **changes}
        return _entity(self.request("POST", entity.lower(), body=body, requestid=requestid), entity)

    def _operation(
        self, entity: str, operation: str, *, entity_id: str, sync_token: str, requestid: str
    ) -> dict[str, Any]:
        body = {"Id": entity_id, "SyncToken": sync_token}
        data = self.request(
            "POST",
            entity.lower(),
            params={"operation": operation},
            body=body,
            requestid=requestid,
        )
        return _entity(data, entity)

    def void(
        self, entity: str, *, entity_id: str, sync_token: str, requestid: str
    ) -> dict[str, Any]:
        return self._operation(
            entity, "void", entity_id=entity_id, sync_token=sync_token, requestid=requestid
        )

    def delete(
        self, entity: str, *, entity_id: str, sync_token: str, requestid: str
    ) -> dict[str, Any]:
        return self._operation(
            entity, "delete", entity_id=entity_id, sync_token=sync_token, requestid=requestid
        )

    def cdc(self, entities: Iterable[str], *, changed_since: datetime) -> dict[str, list[Any]]:
        """Change Data Capture: entity -> every object of it changed since then (a deleted
        one as {"Id", "status": "Deleted"})."""
        data = self.request(
            "GET",
            "cdc",
            params={
                "entities": ",".join(sorted(set(entities))),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
        )
        found: dict[str, list[Any]] = {}
        for block in data.get("CDCResponse") or []:
            for response in (block or {}).get("QueryResponse") or []:
                for name, rows in (response or {}).items():
                    if isinstance(rows, list):
                        found.setdefault(name, []).extend(rows)
        return found

    def company_info(self) -> dict[str, Any]:
        return _entity(
            self.request("GET", f"companyinfo/{quote(self.realm, safe='')}"), "CompanyInfo"
        )

    def preferences(self) -> dict[str, Any]:
        return _entity(self.request("GET", "preferences"), "Preferences")

    def currencies(self) -> list[dict[str, Any]]:
        """The company's currencies other than the home one (multicurrency on only)."""
        return list(self.query("select * from CompanyCurrency").get("CompanyCurrency") or [])

    def accounts(self) -> list[dict[str, Any]]:
        """The chart of accounts, inactive ones too (a query leaves them out by default:
        the mapping screen must show that a mapped account was made inactive)."""
        rows: list[dict[str, Any]] = []
        for statement in (
            "select * from Account maxresults 1000",
            "select * from Account where Active = false maxresults 1000",
        ):
            rows.extend(self.query(statement).get("Account") or [])
        return list({str(a.get("Id")): a for a in rows}.values())


def _entity(data: dict[str, Any], entity: str) -> dict[str, Any]:
    item = data.get(entity)
    if not isinstance(item, dict):
        raise TransientError(f"quickbooks: the answer has no {entity}")
    return item


def requestid(connection_id: int, job_id: int, step: str = "") -> str:
    """The requestid of one write of a job: the same on every attempt of it, different for
    each of its writes (Intuit keeps a requestid's answer and replays it)."""
    return requestid_for(f"{connection_id}:{job_id}:{step}")


def tenants(*, access_token: str, realm_id: str) -> list[Tenant]:
    """The company a new grant reaches: Intuit names it in the callback (`realmId`); its
    CompanyInfo, read with the new token, proves the grant reaches it and gives its name."""
    if not realm_id:
        raise PermanentError("QuickBooks sent no realmId with the authorization code")
    realm = quote(realm_id, safe="")
    url = f"{settings.QUICKBOOKS_API_URL}/company/{realm}/companyinfo/{realm}"
    with pinned_session(url, allow_private=_allow_private()) as session:
        try:
            response = session.get(
                url,
                params={"minorversion": str(settings.QUICKBOOKS_MINOR_VERSION)},
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=settings.QUICKBOOKS_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise TransientError(f"quickbooks companyinfo: {type(exc).__name__}") from exc
    try:
        data = json.loads(response.content, parse_float=Decimal) if response.content else {}
    except ValueError:
        data = {}
    fault = fault_of(data)
    if response.status_code != 200 or fault:
        detail = fault_text(*fault) if fault else f"HTTP {response.status_code}"
        raise PermanentError(f"the grant does not reach QuickBooks company {realm_id}: {detail}")
    info = data.get("CompanyInfo") or {}
    return [Tenant(tenant_id=realm_id, name=str(info.get("CompanyName", "") or realm_id))]
