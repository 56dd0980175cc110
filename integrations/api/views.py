"""Webhook subscriptions over API v1 (`webhooks:manage`), following fintech/api's patterns:
OAuth scopes per method, problem+json errors, Idempotency-Key on creation, cursor pages."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.idempotency import idempotent
from fintech.api.pagination import ApiCursorPagination
from fintech.api.serializers import ResponseSerializer, StrictInputSerializer
from fintech.api.views.base import ApiView
from integrations.events import CATALOGUE
from integrations.webhooks import selectors, services


class EndpointOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    description = serializers.CharField()
    event_types = serializers.ListField(
        child=serializers.CharField(), help_text="empty: every event type"
    )
    is_enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    failure_streak = serializers.IntegerField()
    failing_since = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(help_text="whsec_...: shown only in this response")


def _with_secret(result: services.EndpointWithSecret) -> dict[str, object]:
    data = dict(EndpointOutputSerializer.represent(result.endpoint))
    data["secret"] = result.secret
    return data


class DeliveryOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    webhook_id = serializers.CharField(help_text="the webhook-id header, stable across retries")
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)


# The characters RFC 3986 allows in a path, query and fragment (so the URL is a `uri`).
WEBHOOK_URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*)?$"
)
WEBHOOK_URL_VALIDATOR = RegexValidator(
    WEBHOOK_URL_PATTERN, "must be an http(s) URL with a host", code="unsafe_url"
)


class WebhookEndpointListCreateApi(ApiView):
    required_scopes = {"GET": (scopes.WEBHOOKS_MANAGE,), "POST": (scopes.WEBHOOKS_MANAGE,)}
    pagination_class = ApiCursorPagination

    class InputSerializer(StrictInputSerializer):
        url = serializers.CharField(
            max_length=2000,
            help_text="http(s) URL, public address",
            # http(s), a host, no credentials, no spaces; the address itself is checked when
            # the endpoint is made (public, not ours).
            validators=[WEBHOOK_URL_VALIDATOR],
        )
        event_types = serializers.ListField(
            child=serializers.ChoiceField(choices=sorted(CATALOGUE)),
            required=False,
            help_text="event types to receive; omit or empty for all",
        )
        description = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(operation_id="webhooks_list", responses=EndpointOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(
            selectors.endpoints_for_profile(profile=self.profile), EndpointOutputSerializer
        )

    @extend_schema(
        operation_id="webhooks_create",
        request=InputSerializer,
        responses={201: EndpointWithSecretSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.endpoint_create(
            actor=self.caller.actor, profile=self.profile, **data.validated_data
        )
        return Response(
            _with_secret(result),
            status=201,
            headers={"Location": f"/api/v1/webhooks/{result.endpoint.pk}"},
        )


class WebhookEndpointDetailApi(ApiView):
    required_scopes = {"GET": (scopes.WEBHOOKS_MANAGE,), "DELETE": (scopes.WEBHOOKS_MANAGE,)}
    http_method_names = ["get", "delete", "head"]

    @extend_schema(operation_id="webhooks_get", responses=EndpointOutputSerializer)
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_profile(profile=self.profile, endpoint_id=endpoint_id)
        return Response(EndpointOutputSerializer.represent(endpoint))

    @extend_schema(operation_id="webhooks_delete", responses={204: None})
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_profile(profile=self.profile, endpoint_id=endpoint_id)
        services.endpoint_delete(
            actor=self.caller.actor, endpoint_id=endpoint.pk, profile=self.profile
        )
        return Response(status=204)


class WebhookEndpointRotateSecretApi(ApiView):
    required_scopes = {"POST": (scopes.WEBHOOKS_MANAGE,)}

    class InputSerializer(StrictInputSerializer):
        previous_valid_hours = serializers.IntegerField(
            min_value=0,
            max_value=168,
            required=False,
            help_text="how long the old secret keeps signing beside the new one (default 24)",
        )

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        request=InputSerializer,
        responses=EndpointWithSecretSerializer,
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = selectors.endpoint_get_for_profile(profile=self.profile, endpoint_id=endpoint_id)
        # Not stored under an Idempotency-Key on purpose: the response holds the new secret,
        # and a repeated rotation is harmless (the secret before keeps signing meanwhile).
        result = services.endpoint_rotate_secret(
            actor=self.caller.actor,
            endpoint_id=endpoint.pk,
            profile=self.profile,
            previous_valid_hours=data.validated_data.get("previous_valid_hours"),
        )
        return Response(_with_secret(result))


class WebhookEndpointTestApi(ApiView):
    required_scopes = {"POST": (scopes.WEBHOOKS_MANAGE,)}

    @extend_schema(
        operation_id="webhooks_send_test", request=None, responses={202: DeliveryOutputSerializer}
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_profile(profile=self.profile, endpoint_id=endpoint_id)
        delivery_id = services.endpoint_send_test(
            actor=self.caller.actor, endpoint_id=endpoint.pk, profile=self.profile
        )
        delivery = selectors.deliveries_for_endpoint(endpoint=endpoint).get(pk=delivery_id)
        return Response(DeliveryOutputSerializer.represent(delivery), status=202)


class WebhookDeliveryListApi(ApiView):
    required_scopes = {"GET": (scopes.WEBHOOKS_MANAGE,)}
    pagination_class = ApiCursorPagination

    @extend_schema(
        operation_id="webhooks_deliveries_list", responses=DeliveryOutputSerializer(many=True)
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_profile(profile=self.profile, endpoint_id=endpoint_id)
        return self.paginated(
            selectors.deliveries_for_endpoint(endpoint=endpoint), DeliveryOutputSerializer
        )
