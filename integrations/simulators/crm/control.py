"""Steering the CRM sandbox (tests, `make run`), authorised by the sandbox app's secret
(`Authorization: Bearer <CRM_SANDBOX_CLIENT_SECRET>`):

    POST control/portals                   {"name"}: a new portal and its private app token
    GET|POST control/<portal>              read or set {rate_per_10s, rate_per_day,
                                           fault_status, fault_remaining, latency_ms,
                                           refuse_properties, reset_limits}
    POST control/<portal>/owners           {"email", "firstName", "lastName"}: a new owner
    GET  control/<portal>/objects/<type>   every object, archived ones too, with associations
    POST control/<portal>/objects/<type>   {"properties"}: a record made by a CRM user (a lead);
                                           sends `<type>.creation`
    POST control/<portal>/objects/<type>/<id>
                                           change properties as a CRM user would (a new
                                           `hubspot_owner_id`, or our reference on a lead to
                                           link it; a unique value held elsewhere is 409);
                                           sends the propertyChange webhooks
    DELETE control/<portal>/objects/<type>/<id>
                                           delete it as a user would (sends the deletion)
    POST control/<portal>/merge/<type>     {"primaryObjectId", "objectIdToMerge"}: a merge by a
                                           CRM user; sends `<type>.merge`
    GET  control/<portal>/requests         every body the portal received
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.models import CrmSandboxObject, CrmSandboxPortal, CrmSandboxRequest
from integrations.simulators.crm import webhooks
from integrations.simulators.crm.api import TYPES, definitions, properties_problem
from integrations.simulators.crm.gate import token_hash

SETTABLE = ("rate_per_10s", "rate_per_day", "fault_status", "fault_remaining", "latency_ms")
SINGULAR = {"companies": "company", "contacts": "contact", "notes": "note"}


def _authorised(request: HttpRequest) -> bool:
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    secret = settings.CRM_SANDBOX_CLIENT_SECRET
    return bool(secret) and hmac.compare_digest(supplied.encode(), secret.encode())


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _refused() -> JsonResponse:
    return JsonResponse(
        {"error": "unauthorized", "detail": "control needs the app secret"}, status=401
    )


def _settings(portal: CrmSandboxPortal) -> dict[str, Any]:
    return {
        "portal_id": portal.pk,
        "name": portal.name,
        **{name: getattr(portal, name) for name in SETTABLE},
        "refuse_properties": portal.refuse_properties,
        "owners": portal.owners,
        "properties": portal.properties,
    }


def portal_create(*, name: str) -> tuple[CrmSandboxPortal, str]:
    token = f"pat-sandbox-{secrets.token_urlsafe(24)}"
    portal = CrmSandboxPortal.objects.create(
        name=name[:200], private_app_token_hash=token_hash(token)
    )
    return portal, token


@csrf_exempt
def portal_new(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        return _refused()
    data = _body(request)
    if request.method != "POST" or data is None:
        return JsonResponse({"error": "bad_request", "detail": "POST a JSON object"}, status=400)
    portal, token = portal_create(name=str(data.get("name") or "Sandbox portal"))
    return JsonResponse({**_settings(portal), "private_app_token": token}, status=201)


@csrf_exempt
def portal_settings(request: HttpRequest, portal_id: int) -> HttpResponse:
    if not _authorised(request):
        return _refused()
    portal = CrmSandboxPortal.objects.filter(pk=portal_id).first()
    if portal is None:
        return JsonResponse({"error": "not_found", "detail": f"no portal {portal_id}"}, status=404)
    if request.method == "POST":
        data = _body(request)
        if data is None:
            return JsonResponse({"error": "bad_request", "detail": "a JSON object"}, status=400)
        for name in SETTABLE:
            if name in data:
                value = data[name]
                if value is not None and (not isinstance(value, int) or value < 0):
                    return JsonResponse(
                        {"error": "bad_request", "detail": f"{name}: a whole number >= 0"},
                        status=400,
                    )
                setattr(portal, name, value if value is not None or name.startswith("rate") else 0)
        if "refuse_properties" in data:
            portal.refuse_properties = bool(data["refuse_properties"])
        if data.get("reset_limits"):
            portal.window_calls = portal.day_calls = 0
            portal.window_started_at = portal.day_started_at = None
        portal.save()
    return JsonResponse(_settings(portal))


@csrf_exempt
def owner_new(request: HttpRequest, portal_id: int) -> HttpResponse:
    if not _authorised(request):
        return _refused()
    data = _body(request) or {}
    email = str(data.get("email", "")).strip()
    if "@" not in email:
        return JsonResponse(
            {"error": "bad_request", "detail": "email: an email address"}, status=400
        )
    with transaction.atomic():
        portal = CrmSandboxPortal.objects.select_for_update().get(pk=portal_id)
        owner_id = str(100 + len(portal.owners or []))
        owner = {
            "id": owner_id,
            "userId": int(owner_id) * 10,
            "email": email,
            "firstName": str(data.get("firstName", "")),
            "lastName": str(data.get("lastName", "")),
        }
        portal.owners = [*(portal.owners or []), owner]
        portal.save(update_fields=["owners"])
    return JsonResponse(owner, status=201)


def _dump(obj: CrmSandboxObject) -> dict[str, Any]:
    return {
        "id": str(obj.pk),
        "properties": obj.properties,
        "associations": obj.associations,
        "archived": obj.archived,
    }


@csrf_exempt
def object_list(request: HttpRequest, portal_id: int, object_type: str) -> HttpResponse:
    """GET: every object, archived ones too. POST {"properties"}: a record made by a CRM user
    (a lead a salesperson enters, say), checked as the API checks it; sends `<type>.creation`."""
    if not _authorised(request):
        return _refused()
    if request.method == "POST":
        if object_type not in TYPES:
            return JsonResponse(
                {"error": "bad_request", "detail": f"type: one of {TYPES}"}, status=400
            )
        data = _body(request) or {}
        properties = {str(k): str(v) for k, v in dict(data.get("properties") or {}).items()}
        with transaction.atomic():
            portal = CrmSandboxPortal.objects.select_for_update().filter(pk=portal_id).first()
            if portal is None:
                return JsonResponse(
                    {"error": "not_found", "detail": f"no portal {portal_id}"}, status=404
                )
            problem = properties_problem(portal, object_type, properties)
            if problem is not None:
                return problem
            obj = CrmSandboxObject.objects.create(
                portal=portal, object_type=object_type, properties=properties
            )
            webhooks.event_queue(
                portal=portal,
                events=[
                    {"subscriptionType": f"{SINGULAR[object_type]}.creation", "objectId": obj.pk}
                ],
            )
        return JsonResponse(_dump(obj), status=201)
    rows = CrmSandboxObject.objects.filter(portal_id=portal_id, object_type=object_type)
    return JsonResponse({"results": [_dump(o) for o in rows]})


def _taken(obj: CrmSandboxObject, changed: dict[str, str]) -> str:
    """A unique property's value another live record holds (HubSpot refuses it in its UI)."""
    known = definitions(obj.portal, obj.object_type)
    for name, value in changed.items():
        if value and known.get(name, {}).get("hasUniqueValue"):
            clash = (
                CrmSandboxObject.objects.filter(
                    portal_id=obj.portal_id,
                    object_type=obj.object_type,
                    archived=False,
                    **{f"properties__{name}": value},
                )
                .exclude(pk=obj.pk)
                .first()
            )
            if clash is not None:
                return f"{name} {value!r} is already held by {obj.object_type} {clash.pk}"
    return ""


@csrf_exempt
def object_change(
    request: HttpRequest, portal_id: int, object_type: str, object_id: int
) -> HttpResponse:
    if not _authorised(request):
        return _refused()
    if object_type not in TYPES:
        return JsonResponse({"error": "bad_request", "detail": f"type: one of {TYPES}"}, status=400)
    with transaction.atomic():
        obj = (
            CrmSandboxObject.objects.select_for_update()
            .filter(portal_id=portal_id, object_type=object_type, pk=object_id)
            .first()
        )
        if obj is None:
            return JsonResponse(
                {"error": "not_found", "detail": f"no {object_type} {object_id}"}, status=404
            )
        kind = SINGULAR[object_type]
        if request.method == "DELETE":
            obj.archived = True
            obj.save()
            events = [{"subscriptionType": f"{kind}.deletion", "objectId": obj.pk}]
        else:
            data = _body(request)
            if data is None:
                return JsonResponse({"error": "bad_request", "detail": "a JSON object"}, status=400)
            changed = {k: str(v) for k, v in data.items() if obj.properties.get(k) != str(v)}
            taken = _taken(obj, changed)
            if taken:
                return JsonResponse({"error": "conflict", "detail": taken}, status=409)
            obj.properties = {**obj.properties, **changed}
            obj.save()
            events = [
                {
                    "subscriptionType": f"{kind}.propertyChange",
                    "objectId": obj.pk,
                    "propertyName": name,
                    "propertyValue": value,
                }
                for name, value in changed.items()
            ]
        webhooks.event_queue(portal=obj.portal, events=events)
    return JsonResponse(_dump(obj))


@csrf_exempt
def requests_list(request: HttpRequest, portal_id: int) -> HttpResponse:
    if not _authorised(request):
        return _refused()
    rows = CrmSandboxRequest.objects.filter(portal_id=portal_id).order_by("pk")
    return JsonResponse(
        {
            "results": [
                {"method": r.method, "path": r.path, "body": r.body, "status": r.status}
                for r in rows
            ]
        }
    )


@csrf_exempt
def merge(request: HttpRequest, portal_id: int, object_type: str) -> HttpResponse:
    """POST {"primaryObjectId", "objectIdToMerge"}: two records merged by a CRM user, as
    HubSpot merges them. The primary keeps its id and its values; the other's values fill its
    blanks (its email becomes one of the primary's `hs_additional_emails`), its associations
    move over, it is archived and its id listed in the primary's `hs_merged_object_ids` (the API
    answers that id with the primary). Sends `<type>.merge` with `primaryObjectId`,
    `mergedObjectIds`, `newObjectId` and `numberOfPropertiesMoved`."""
    if not _authorised(request):
        return _refused()
    data = _body(request) or {}
    if request.method != "POST" or object_type not in TYPES:
        return JsonResponse({"error": "bad_request", "detail": "POST, a known type"}, status=400)
    ids = [str(data.get("primaryObjectId", "")), str(data.get("objectIdToMerge", ""))]
    if not all(i.isdigit() for i in ids) or ids[0] == ids[1]:
        return JsonResponse(
            {"error": "bad_request", "detail": "primaryObjectId, objectIdToMerge: two ids"},
            status=400,
        )
    with transaction.atomic():
        rows = {
            str(o.pk): o
            for o in CrmSandboxObject.objects.select_for_update().filter(
                portal_id=portal_id, object_type=object_type, pk__in=ids, archived=False
            )
        }
        if len(rows) != 2:
            return JsonResponse(
                {"error": "not_found", "detail": f"{object_type} {ids}: not both live"},
                status=404,
            )
        primary, other = rows[ids[0]], rows[ids[1]]
        props = dict(primary.properties)
        moved = 0
        for name, value in other.properties.items():
            if name == "email" and value and value != props.get("email"):
                extra = [e for e in str(props.get("hs_additional_emails", "")).split(";") if e]
                props["hs_additional_emails"] = ";".join([*extra, value])
                moved += 1
            elif value and not props.get(name):
                props[name] = value
                moved += 1
        merged = [i for i in str(props.get("hs_merged_object_ids", "")).split(";") if i] + [
            str(other.pk)
        ]
        props["hs_merged_object_ids"] = ";".join(merged)
        primary.properties = props
        primary.associations = [
            *primary.associations,
            *[a for a in other.associations if a not in primary.associations],
        ]
        primary.save()
        other.archived = True
        other.save()
        # Links made from the other side (notes, contacts) now point at the primary.
        for linked in CrmSandboxObject.objects.select_for_update().filter(portal_id=portal_id):
            if any(a["toId"] == str(other.pk) for a in linked.associations):
                linked.associations = [
                    {**a, "toId": str(primary.pk)} if a["toId"] == str(other.pk) else a
                    for a in linked.associations
                ]
                linked.save(update_fields=["associations"])
        webhooks.event_queue(
            portal=primary.portal,
            events=[
                {
                    "subscriptionType": f"{SINGULAR[object_type]}.merge",
                    "objectId": primary.pk,
                    "changeFlag": "MERGED",
                    "primaryObjectId": primary.pk,
                    "mergedObjectIds": [other.pk],
                    "newObjectId": primary.pk,
                    "numberOfPropertiesMoved": moved,
                }
            ],
        )
    return JsonResponse(_dump(primary))
