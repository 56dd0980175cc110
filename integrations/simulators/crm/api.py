"""HubSpot's CRM v3 API in the sandbox (the parts the connector uses), HubSpot's shapes:

    GET, POST  crm/v3/objects/<type>            list, create (SimplePublicObjectInputForCreate)
    GET, PATCH, DELETE crm/v3/objects/<type>/<id> read, update (SimplePublicObjectInput), archive
                                                 (the id of a merged record answers its survivor)
    POST       crm/v3/objects/<type>/search          PublicObjectSearchRequest (EQ, CONTAINS_TOKEN)
    GET        crm/v3/objects/<type>/<id>/associations/<to_type>
    GET|POST   crm/v3/properties/<type>              list / create (PropertyCreate)
    GET        crm/v3/properties/<type>/<name>
    GET        crm/v3/owners[?email=]  and  crm/v3/owners/<id>

<type> is companies, contacts or notes. Bodies are checked with hubspot-api-client's models
(validation.py), then against the portal: unknown properties, values outside an enumeration's
options, unknown owners, associations to missing objects and duplicates of a unique property
are refused as HubSpot refuses them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from integrations.models import CrmSandboxObject, CrmSandboxPortal
from integrations.simulators.crm.gate import crm_api, hubspot_error, json_body
from integrations.simulators.crm.validation import model_errors

TYPES = ("companies", "contacts", "notes")
# Properties every portal has (HubSpot's own), per object type.
BUILT_IN: dict[str, dict[str, dict[str, Any]]] = {
    "companies": {
        "name": {"type": "string"},
        "domain": {"type": "string"},
        "hubspot_owner_id": {"type": "enumeration", "owner": True},
    },
    "contacts": {
        "email": {"type": "string", "hasUniqueValue": True},
        "firstname": {"type": "string"},
        "lastname": {"type": "string"},
        "hubspot_owner_id": {"type": "enumeration", "owner": True},
    },
    "notes": {
        "hs_note_body": {"type": "string"},
        "hs_timestamp": {"type": "datetime"},
        "hubspot_owner_id": {"type": "enumeration", "owner": True},
    },
}


def definitions(portal: CrmSandboxPortal, object_type: str) -> dict[str, dict[str, Any]]:
    return {**BUILT_IN[object_type], **(portal.properties or {}).get(object_type, {})}


def answer(obj: CrmSandboxObject) -> dict[str, Any]:
    return {
        "id": str(obj.pk),
        "properties": {
            **obj.properties,
            "hs_object_id": str(obj.pk),
            "createdate": obj.created_at.isoformat(),
            "hs_lastmodifieddate": obj.updated_at.isoformat(),
        },
        "createdAt": obj.created_at.isoformat(),
        "updatedAt": obj.updated_at.isoformat(),
        "archived": obj.archived,
    }


def _invalid(message: str, errors: list[dict[str, Any]]) -> JsonResponse:
    return hubspot_error(400, message, "VALIDATION_ERROR", errors=errors)


def properties_problem(
    portal: CrmSandboxPortal, object_type: str, properties: dict[str, str], *, exclude: int = 0
) -> HttpResponse | None:
    """HubSpot's refusals of property values: unknown, not an option, unknown owner,
    a duplicate of a unique value."""
    known = definitions(portal, object_type)
    errors: list[dict[str, Any]] = []
    owners = {str(o["id"]) for o in portal.owners or []}
    for name, value in properties.items():
        spec = known.get(name)
        if spec is None:
            errors.append(
                {
                    "message": f'Property "{name}" does not exist',
                    "code": "PROPERTY_DOESNT_EXIST",
                    "context": {"propertyName": [name]},
                }
            )
        elif spec.get("owner") and value and value not in owners:
            errors.append(
                {
                    "message": f"{value} is not a valid owner id",
                    "code": "INVALID_OWNER_ID",
                    "context": {"propertyName": [name]},
                }
            )
        elif spec.get("type") == "enumeration" and not spec.get("owner"):
            options = {o["value"] for o in spec.get("options", [])}
            if value not in options:
                errors.append(
                    {
                        "message": f"{value} was not one of the allowed options: {sorted(options)}",
                        "code": "INVALID_OPTION",
                        "context": {"propertyName": [name]},
                    }
                )
        elif (
            spec.get("type") == "number"
            and value
            and not value.lstrip("-").replace(".", "", 1).isdigit()
        ):
            errors.append(
                {
                    "message": f"{value} is not a number",
                    "code": "INVALID_INTEGER",
                    "context": {"propertyName": [name]},
                }
            )
    if errors:
        return _invalid(
            "Property values were not valid: " + "; ".join(str(e["message"]) for e in errors),
            errors,
        )
    for name, value in properties.items():
        if known[name].get("hasUniqueValue") and value:
            clash = (
                CrmSandboxObject.objects.filter(
                    portal=portal,
                    object_type=object_type,
                    archived=False,
                    **{f"properties__{name}": value},
                )
                .exclude(pk=exclude)
                .first()
            )
            if clash is not None:
                return hubspot_error(
                    409,
                    f"{'Contact' if object_type == 'contacts' else 'Object'} already exists. "
                    f"Existing ID: {clash.pk}",
                    "CONFLICT",
                )
    return None


def _unknown_type(object_type: str) -> JsonResponse:
    return hubspot_error(
        400, f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR"
    )


@crm_api
def objects(request: HttpRequest, portal: CrmSandboxPortal, object_type: str) -> HttpResponse:
    if object_type not in TYPES:
        return _unknown_type(object_type)
    if request.method == "GET":
        rows = CrmSandboxObject.objects.filter(
            portal=portal, object_type=object_type, archived=False
        )
        return JsonResponse({"results": [answer(o) for o in rows[:100]]})
    if request.method != "POST":
        return hubspot_error(405, "method not allowed", "VALIDATION_ERROR")
    body = json_body(request)
    errors = model_errors(object_type, "SimplePublicObjectInputForCreate", body)
    if errors:
        return _invalid(
            "Invalid input JSON on line 1: " + "; ".join(errors), [{"message": e} for e in errors]
        )
    properties = body["properties"]
    if object_type == "notes" and not properties.get("hs_timestamp"):
        return _invalid(
            "hs_timestamp is required for notes", [{"message": "hs_timestamp is required"}]
        )
    with transaction.atomic():
        # Why a lock on the portal: "is this unique value taken" and the insert are one step.
        CrmSandboxPortal.objects.select_for_update().filter(pk=portal.pk).first()
        problem = properties_problem(portal, object_type, properties)
        if problem is not None:
            return problem
        links = []
        for association in body.get("associations") or []:
            to_id = str(association["to"]["id"])
            target = CrmSandboxObject.objects.filter(
                portal=portal, pk=int(to_id) if to_id.isdigit() else 0, archived=False
            ).first()
            if target is None:
                return _invalid(
                    f"association target {to_id} does not exist",
                    [{"message": f"{to_id} not found", "code": "INVALID_ASSOCIATION"}],
                )
            for kind in association["types"]:
                links.append(
                    {
                        "toObjectType": target.object_type,
                        "toId": to_id,
                        "associationTypeId": kind["associationTypeId"],
                    }
                )
        obj = CrmSandboxObject.objects.create(
            portal=portal, object_type=object_type, properties=dict(properties), associations=links
        )
    return JsonResponse(answer(obj), status=201)


def merged_into(portal_id: int, object_type: str, object_id: str) -> CrmSandboxObject | None:
    """The record that absorbed `object_id` in a merge (HubSpot keeps the merged ids in the
    survivor's `hs_merged_object_ids`, `;`-separated, and answers them with the survivor)."""
    for obj in CrmSandboxObject.objects.filter(
        portal_id=portal_id,
        object_type=object_type,
        archived=False,
        properties__has_key="hs_merged_object_ids",
    ):
        if object_id in str(obj.properties["hs_merged_object_ids"]).split(";"):
            return obj
    return None


def _get(portal: CrmSandboxPortal, object_type: str, object_id: str) -> CrmSandboxObject | None:
    if not object_id.isdigit():
        return None
    found = CrmSandboxObject.objects.filter(
        portal=portal, object_type=object_type, pk=int(object_id), archived=False
    ).first()
    return found or merged_into(portal.pk, object_type, object_id)


@crm_api
def item(
    request: HttpRequest, portal: CrmSandboxPortal, object_type: str, object_id: str
) -> HttpResponse:
    if object_type not in TYPES:
        return _unknown_type(object_type)
    obj = _get(portal, object_type, object_id)
    if obj is None:
        return hubspot_error(
            404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND"
        )
    if request.method == "GET":
        return JsonResponse(answer(obj))
    if request.method == "DELETE":
        CrmSandboxObject.objects.filter(pk=obj.pk).update(archived=True)
        return HttpResponse(status=204)
    if request.method != "PATCH":
        return hubspot_error(405, "method not allowed", "VALIDATION_ERROR")
    body = json_body(request)
    errors = model_errors(object_type, "SimplePublicObjectInput", body)
    if errors:
        return _invalid(
            "Invalid input JSON on line 1: " + "; ".join(errors), [{"message": e} for e in errors]
        )
    with transaction.atomic():
        CrmSandboxPortal.objects.select_for_update().filter(pk=portal.pk).first()
        problem = properties_problem(portal, object_type, body["properties"], exclude=obj.pk)
        if problem is not None:
            return problem
        obj = CrmSandboxObject.objects.select_for_update().get(pk=obj.pk)
        obj.properties = {**obj.properties, **body["properties"]}
        obj.save()
    return JsonResponse(answer(obj))


def _matches(obj: CrmSandboxObject, group: dict[str, Any]) -> bool:
    for f in group.get("filters") or []:
        value = str(obj.properties.get(f["propertyName"], "") or "")
        wanted = str(f.get("value", ""))
        op = f.get("operator", "EQ")
        if op == "EQ" and value.lower() != wanted.lower():
            return False
        if op == "NEQ" and value.lower() == wanted.lower():
            return False
        if op == "CONTAINS_TOKEN" and wanted.lower() not in value.lower():
            return False
        if op == "HAS_PROPERTY" and not value:
            return False
    return True


@crm_api
def search(request: HttpRequest, portal: CrmSandboxPortal, object_type: str) -> HttpResponse:
    if object_type not in TYPES:
        return _unknown_type(object_type)
    body = json_body(request)
    errors = model_errors(object_type, "PublicObjectSearchRequest", body)
    if errors:
        return _invalid(
            "Invalid input JSON on line 1: " + "; ".join(errors), [{"message": e} for e in errors]
        )
    groups = body.get("filterGroups") or [{}]
    rows = CrmSandboxObject.objects.filter(portal=portal, object_type=object_type, archived=False)
    found = [o for o in rows if any(_matches(o, g) for g in groups)]
    limit = int(body.get("limit") or 10)
    return JsonResponse({"total": len(found), "results": [answer(o) for o in found[:limit]]})


@crm_api
def associations(
    request: HttpRequest, portal: CrmSandboxPortal, object_type: str, object_id: str, to_type: str
) -> HttpResponse:
    obj = _get(portal, object_type, object_id)
    if obj is None:
        return hubspot_error(404, "Object not found.", "OBJECT_NOT_FOUND")
    results = [
        {"id": a["toId"], "type": f"{object_type[:-1]}_to_{to_type[:-1]}"}
        for a in obj.associations
        if a["toObjectType"] == to_type
    ]
    # Links made from the other side (a contact created with its company).
    for other in CrmSandboxObject.objects.filter(
        portal=portal, object_type=to_type, archived=False
    ):
        if any(a["toId"] == str(obj.pk) for a in other.associations):
            results.append({"id": str(other.pk), "type": f"{object_type[:-1]}_to_{to_type[:-1]}"})
    return JsonResponse({"results": results})


def _property_answer(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "options": [], "hidden": False, **spec}


@crm_api
def properties(request: HttpRequest, portal: CrmSandboxPortal, object_type: str) -> HttpResponse:
    if object_type not in TYPES:
        return _unknown_type(object_type)
    if request.method == "GET":
        known = definitions(portal, object_type)
        return JsonResponse({"results": [_property_answer(n, s) for n, s in known.items()]})
    body = json_body(request)
    errors = model_errors("properties", "PropertyCreate", body)
    if errors:
        return _invalid(
            "Invalid input JSON on line 1: " + "; ".join(errors), [{"message": e} for e in errors]
        )
    if portal.refuse_properties:
        return hubspot_error(
            403,
            "This app hasn't been granted all required scopes to make this call. "
            "Read more about required scopes here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [f"crm.schemas.{object_type}.write"]},
                }
            ],
        )
    with transaction.atomic():
        locked = CrmSandboxPortal.objects.select_for_update().get(pk=portal.pk)
        if body["name"] in definitions(locked, object_type):
            return hubspot_error(
                409, f"A property named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS"
            )
        spec = {k: v for k, v in body.items() if k != "name"}
        stored = dict(locked.properties or {})
        stored.setdefault(object_type, {})[body["name"]] = spec
        locked.properties = stored
        locked.save(update_fields=["properties"])
    return JsonResponse(_property_answer(body["name"], spec), status=201)


@crm_api
def property_item(
    request: HttpRequest, portal: CrmSandboxPortal, object_type: str, name: str
) -> HttpResponse:
    if object_type not in TYPES:
        return _unknown_type(object_type)
    spec = definitions(portal, object_type).get(name)
    if spec is None:
        return hubspot_error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
    return JsonResponse(_property_answer(name, spec))


def _owner(o: dict[str, Any]) -> dict[str, Any]:
    return {**o, "id": str(o["id"]), "archived": False, "teams": []}


@crm_api
def owners(request: HttpRequest, portal: CrmSandboxPortal) -> HttpResponse:
    email = request.GET.get("email", "").lower()
    found = [o for o in portal.owners or [] if not email or o["email"].lower() == email]
    return JsonResponse({"results": [_owner(o) for o in found]})


@crm_api
def owner(request: HttpRequest, portal: CrmSandboxPortal, owner_id: str) -> HttpResponse:
    for o in portal.owners or []:
        if str(o["id"]) == owner_id:
            return JsonResponse(_owner(o))
    return hubspot_error(404, f"Owner {owner_id} not found", "OBJECT_NOT_FOUND")


@crm_api
def account_details(request: HttpRequest, portal: CrmSandboxPortal) -> HttpResponse:
    """HubSpot's account information (what a private app's token belongs to)."""
    return JsonResponse(
        {
            "portalId": portal.pk,
            "accountType": "SANDBOX",
            "timeZone": "Etc/UTC",
            "companyCurrency": "GBP",
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "eu1",
        }
    )
