"""Request bodies checked with HubSpot's own models (hubspot-api-client): each body is read
into the SDK's model with its client-side validation on (required fields, enumerations), then
written out again; a key the model does not know, or a value it changes on the way (a number
where a string belongs), is an error naming its path. The sandbox refuses such a body with
HubSpot's VALIDATION_ERROR; the connector's tests use the same check on every body it sends.
"""

from __future__ import annotations

from typing import Any

import hubspot.crm.companies
import hubspot.crm.contacts
import hubspot.crm.objects.notes
import hubspot.crm.properties

# Object type (as in the URL) -> the SDK package whose models describe its bodies.
PACKAGES: dict[str, Any] = {
    "companies": hubspot.crm.companies,
    "contacts": hubspot.crm.contacts,
    "notes": hubspot.crm.objects.notes,
    "properties": hubspot.crm.properties,
}


def _diff(sent: Any, kept: Any, path: str) -> list[str]:
    if isinstance(sent, dict) and isinstance(kept, dict):
        errors = [
            f"{path}.{key}: not a field of this object".lstrip(".")
            for key in sent
            if key not in kept
        ]
        for key in sent:
            if key in kept:
                errors.extend(_diff(sent[key], kept[key], f"{path}.{key}"))
        return errors
    if isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        errors = []
        for index, (a, b) in enumerate(zip(sent, kept, strict=True)):
            errors.extend(_diff(a, b, f"{path}[{index}]"))
        return errors
    if sent != kept or type(sent) is not type(kept):
        return [f"{path.lstrip('.')}: {sent!r} is not a valid value here"]
    return []


def model_errors(object_type: str, model: str, body: Any) -> list[str]:
    """Every reason HubSpot's model `model` (of `object_type`'s package) refuses `body`;
    empty when it takes it as it is."""
    package = PACKAGES[object_type]
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    client = package.ApiClient(package.Configuration())
    client.configuration.client_side_validation = True
    try:
        instance = client._ApiClient__deserialize(body, model)
    except (ValueError, TypeError) as exc:
        return [str(exc)]
    kept = client.sanitize_for_serialization(instance)
    return _diff(_without_nulls(body), kept, "")


def _without_nulls(value: Any) -> Any:
    # The SDK leaves unset (None) fields out when it writes; so does HubSpot.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
