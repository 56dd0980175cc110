"""A small Intuit on 127.0.0.1 for the client's and adapter's tests: Intuit's OAuth token
endpoint (rotating refresh tokens) and Accounting API v3 shapes, every body it receives
checked with Intuit's XSDs (oracle.py) and answered with a ValidationFault when they refuse
it. It records each request, replays a requestid's first answer, keeps SyncTokens, and can be
told to answer the next calls with a status or a Fault (`fail_next`). The project's own
QuickBooks sandbox (integrations/simulators/quickbooks, another branch) is the end-to-end
counterpart; this one exists so the client is tested against Intuit's contract on its own.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.connectors.accounting.wire import dumps
from tests.connectors.quickbooks import oracle

REALM = "9130350000000001"


def fault(code: str, message: str, detail: str = "", kind: str = "ValidationFault") -> dict:
    return {
        "Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}], "type": kind},
        "time": "2026-12-01T10:00:00.000-08:00",
    }


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Intuit:
    realm: str = REALM
    home: str = "GBP"
    multicurrency: bool = True
    currencies: tuple[str, ...] = ("EUR", "USD")
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)  # requestid -> answer
    scripted: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    refresh_tokens: dict[str, bool] = field(default_factory=dict)  # token -> still good
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 100
    lose_write: bool = False
    other_companies: set[str] = field(default_factory=set)  # realms a grant may reach too

    def __post_init__(self) -> None:
        for n, (name, kind, active) in enumerate(
            [
                ("Client money", "Bank", True),
                ("Fees", "Income", True),
                ("FX margin", "Income", True),
                ("Customer funds", "Other Current Liability", True),
                ("Old fees", "Income", False),
                ("Payout clearing", "Other Current Liability", True),
                ("FX position", "Equity", True),
                ("Accounts Receivable (A/R)", "Accounts Receivable", True),
            ],
            start=1,
        ):
            self.objects.setdefault("Account", {})[str(n)] = {
                "Id": str(n),
                "Name": name,
                "AccountType": kind,
                "Classification": "Asset",
                "Active": active,
                "CurrencyRef": {"value": self.home},
                "SyncToken": "0",
            }

    # --- steering --------------------------------------------------------------------

    def fail_next(self, status: int, body: Any = None, **headers: str) -> None:
        self.scripted.append((status, body, headers))

    def lose_next_write_answer(self) -> None:
        """The next write is done, but its answer lost on the way (a 502 from a gateway)."""
        self.lose_write = True

    def writes(self, entity: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == "POST" and (entity is None or c.path.endswith(f"/{entity.lower()}"))
        ]

    def of(self, entity: str) -> list[dict[str, Any]]:
        return list(self.objects.get(entity, {}).values())

    def edit(self, entity: str, entity_id: str, **changes: Any) -> None:
        """Someone changes the object in QuickBooks (its SyncToken moves on)."""
        item = self.objects[entity][entity_id]
        item.update(changes)
        item["SyncToken"] = str(int(item["SyncToken"]) + 1)

    # --- answers ---------------------------------------------------------------------

    def handle(self, method: str, url: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path.endswith("/oauth2/tokens/bearer"):
            with self.lock:
                self.calls.append(Call(method, parts.path, query, None))
                return self._token(parse_qs(body.decode()))
        data = json.loads(body, parse_float=Decimal) if body else None
        with self.lock:
            self.calls.append(Call(method, parts.path, query, data))
            if self.scripted:
                return self.scripted.pop(0)
            match = re.match(r"^/v3/company/([^/]+)/(.+)$", parts.path)
            if match and match.group(1) in self.other_companies:
                return 200, {"CompanyInfo": {"CompanyName": "Other Books", "Id": "1"}}, {}
            if not match or match.group(1) != self.realm:
                return 401, fault("3200", "AuthenticationFailed", kind="AuthenticationFault"), {}
            if query.get("minorversion") != "75":
                return 400, fault("4001", "minorversion missing"), {}
            rest = match.group(2)
            if method == "GET":
                return self._read(rest, query)
            requestid = query.get("requestid", "")
            if not requestid:
                return 400, fault("4002", "requestid missing"), {}
            if requestid in self.answers:
                status, answer = self.answers[requestid]
                return status, answer, {}
            status, answer = self._write(rest, query, data)
            self.answers[requestid] = (status, answer)
            if self.lose_write:
                self.lose_write = False
                return 502, None, {}
            return status, answer, {}

    def _token(self, form: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        if form.get("grant_type") == ["refresh_token"]:
            old = form.get("refresh_token", [""])[0]
            if not self.refresh_tokens.get(old):
                return 400, {"error": "invalid_grant"}, {}
            self.refresh_tokens[old] = False  # rotated: the old one dies
        self.next_id += 1
        new = f"rt-{self.next_id}"
        self.refresh_tokens[new] = True
        token = {
            "access_token": f"at-{self.next_id}",
            "refresh_token": new,
            "token_type": "bearer",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8726400,
        }
        return 200, token, {}

    def _read(self, rest: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if rest == "query":
            return 200, {"QueryResponse": self._query(query.get("query", ""))}, {}
        if rest == "preferences":
            prefs = {
                "MultiCurrencyEnabled": self.multicurrency,
                "HomeCurrency": {"value": self.home},
            }
            return 200, {"Preferences": {"CurrencyPrefs": prefs}}, {}
        if rest.startswith("companyinfo/"):
            return 200, {"CompanyInfo": {"CompanyName": "Alice Books", "Id": "1"}}, {}
        if rest == "cdc":
            blocks = []
            for entity in query.get("entities", "").split(","):
                blocks.append({entity: self.of(entity)})
            return 200, {"CDCResponse": [{"QueryResponse": blocks}]}, {}
        entity_name, _, entity_id = rest.partition("/")
        entity = self._entity(entity_name)
        item = self.objects.get(entity, {}).get(entity_id)
        if item is None:
            return 400, fault("610", "Object Not Found", f"{entity} {entity_id} is gone"), {}
        return 200, {entity: item}, {}

    def _query(self, statement: str) -> dict[str, Any]:
        m = re.match(r"select \* from (\w+)(?: where (.*?))?(?: maxresults \d+)?$", statement)
        assert m, statement
        entity, where = m.group(1), m.group(2) or ""
        if entity == "CompanyCurrency":
            rows = [{"Code": c, "Active": True} for c in self.currencies]
            return {"CompanyCurrency": rows}
        rows = self.of(entity)
        active = True
        for condition in [c.strip() for c in where.split(" and ") if c.strip()]:
            if condition == "Active = false":
                active = False
            elif m2 := re.match(r"(DocNumber|PaymentRefNum|Name) = '(.*)'$", condition):
                rows = [r for r in rows if r.get(m2.group(1)) == m2.group(2)]
            elif m2 := re.match(r"DisplayName like '%(.*)'$", condition):
                suffix = m2.group(1).replace("\\'", "'")
                rows = [r for r in rows if str(r.get("DisplayName", "")).endswith(suffix)]
            else:
                raise AssertionError(f"unexpected condition {condition!r}")
        rows = [r for r in rows if r.get("Active", True) is active]
        return {entity: rows} if rows else {}

    def _entity(self, name: str) -> str:
        known = (
            "Customer", "JournalEntry", "Deposit", "Purchase", "BillPayment", "Bill",
            "Payment", "RefundReceipt", "Item",
        )  # fmt: skip
        return next(e for e in known if e.lower() == name.lower())

    def _write(self, rest: str, query: dict[str, str], data: Any) -> tuple[int, Any]:
        entity = self._entity(rest)
        table = self.objects.setdefault(entity, {})
        if "Id" in data:  # update, void or delete: the SyncToken must be the latest
            item = table.get(str(data["Id"]))
            if item is None:
                return 400, fault("610", "Object Not Found")
            if str(data.get("SyncToken")) != item["SyncToken"]:
                return 400, fault(
                    "5010", "Stale Object Error", "You and another user were working on it."
                )
            operation = query.get("operation", "")
            if operation == "delete":
                del table[item["Id"]]
                return 200, {entity: {"Id": item["Id"], "status": "Deleted"}}
            changes = {k: v for k, v in data.items() if k not in ("Id", "SyncToken", "sparse")}
            if operation == "void":
                changes = {"PrivateNote": "Voided", "TotalAmt": 0}
            item.update(changes)
            item["SyncToken"] = str(int(item["SyncToken"]) + 1)
            return 200, {entity: item}
        try:
            oracle.check(entity, data)
        except oracle.QuickBooksRefused as refused:
            return 400, fault("2020", "Required param missing", str(refused))
        for named in _customers_named(data):
            customer = self.objects.get("Customer", {}).get(named)
            if customer is None or customer.get("Active") is False:
                return 400, fault(
                    "610",
                    "Object Not Found",
                    "Object Not Found : Something you're trying to use has been made inactive",
                )
        if entity == "Customer":
            names = [c["DisplayName"] for c in table.values()]
            if data["DisplayName"] in names:
                return 400, fault("6240", "Duplicate Name Exists Error", "The name is in use")
        self.next_id += 1
        item = {**data, "Id": str(self.next_id), "SyncToken": "0"}
        if "Line" in data and entity != "Customer":
            debit = [line for line in data["Line"] if _posting(line) != "Credit"]
            item["TotalAmt"] = sum((Decimal(str(line["Amount"])) for line in debit), Decimal(0))
        if entity == "Customer":
            item["Active"] = True
        table[item["Id"]] = item
        return 200, {entity: item, "time": "2026-12-01T10:00:00.000-08:00"}


def _customers_named(data: dict[str, Any]) -> list[str]:
    named = []
    for line in data.get("Line", []):
        for detail in (line.get("JournalEntryLineDetail"), line.get("DepositLineDetail")):
            entity = (detail or {}).get("Entity") or {}
            ref = entity.get("EntityRef") or (entity if "value" in entity else {})
            if ref.get("value"):
                named.append(str(ref["value"]))
    return named


def _posting(line: dict[str, Any]) -> str:
    return str((line.get("JournalEntryLineDetail") or {}).get("PostingType", ""))


class IntuitServer:
    def __init__(self, intuit: Intuit) -> None:
        self.intuit = intuit
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                status, payload, headers = server.intuit.handle(method, self.path, body)
                raw = b"" if payload is None else dumps(payload)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
