"""`/webhooks/<provider>/`: the providers' door. Verify, store, answer; no processing here."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.inbound.services import inbound_receive


@csrf_exempt  # machine-to-machine: authenticated by the provider's signature, not a cookie
@require_POST
def inbound_webhook(request: HttpRequest, provider: str) -> JsonResponse:
    headers = {name.lower(): value for name, value in request.headers.items()}
    answer = inbound_receive(
        provider_name=provider,
        headers=headers,
        body=request.body,
        method=request.method or "POST",
        uri=request.build_absolute_uri(),
    )
    return JsonResponse(answer.body, status=answer.status)
