"""/api/v1/accounting/...: a business connects its accounting software and reads how its
objects synced (`accounting:sync`). The caller's own profile only: another business's
connection or transfer is a 404. Tokens never leave the server."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.idempotency import idempotent
from fintech.api.pagination import ApiCursorPagination
from fintech.api.serializers import ResponseSerializer, StrictInputSerializer
from fintech.api.views.base import ApiView
from fintech.core.errors import Conflict, FieldError, ServiceUnavailable, ValidationFailed
from integrations.errors import IntegrationError
from integrations.ssrf import UnsafeUrl
from integrations.sync import selectors, services
from integrations.sync.adapters import providers
from integrations.sync.models import Connection


class TenantOutputSerializer(ResponseSerializer):
    tenant_id = serializers.CharField()
    name = serializers.CharField()


class ConnectionOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    provider = serializers.CharField()
    status = serializers.ChoiceField(choices=Connection.Status.choices)
    status_reason = serializers.CharField()
    tenant_name = serializers.CharField(help_text="the organisation connected; empty until chosen")
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_error_at = serializers.DateTimeField(allow_null=True)
    token_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="the access token's expiry; it is refreshed automatically"
    )
    mapping_complete = serializers.SerializerMethodField(
        help_text="every required account is mapped to an active account of the right type"
    )
    available_tenants = serializers.SerializerMethodField(
        help_text="the organisations your sign-in reaches (choose one when the status is "
        "select_tenant)"
    )
    created_at = serializers.DateTimeField()

    @extend_schema_field(TenantOutputSerializer(many=True))
    def get_available_tenants(self, connection: Connection) -> list[dict[str, str]]:
        return [
            {"tenant_id": str(t.get("tenant_id", "")), "name": str(t.get("name", ""))}
            for t in connection.available_tenants
        ]

    def get_mapping_complete(self, connection: Connection) -> bool:
        try:
            return not services.mapping_problems(connection=connection)
        except LookupError:
            return False  # the provider's connector is not installed here


class ConnectionStartedSerializer(ConnectionOutputSerializer):
    authorization_url = serializers.URLField(
        help_text="send the user's browser here to sign in at the provider and consent; "
        "they come back to /integrations/oauth/callback/"
    )


class SyncJobOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField(source="job_id")
    connection_id = serializers.IntegerField()
    provider = serializers.CharField()
    action = serializers.CharField()
    state = serializers.CharField(
        help_text="pending, in_flight, synced, failed, retry_scheduled, dead or skipped"
    )
    external_id = serializers.CharField(help_text="the object's id in the provider's system")
    external_number = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error_class = serializers.CharField()
    last_error = serializers.CharField()
    note = serializers.CharField(help_text="why an operator skipped it, if they did")
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    synced_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class SyncStatusOutputSerializer(serializers.Serializer):
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    jobs = SyncJobOutputSerializer(many=True)


def _unavailable(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError("provider", "provider_unavailable", message)])


class AccountingConnectionListCreateApi(ApiView):
    required_scopes = {"GET": (scopes.ACCOUNTING_SYNC,), "POST": (scopes.ACCOUNTING_SYNC,)}
    pagination_class = ApiCursorPagination

    class InputSerializer(StrictInputSerializer):
        provider = serializers.ChoiceField(choices=(), help_text="the accounting software")

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # The connectors installed in this deployment (each registers its adapter).
            self.fields["provider"].choices = providers()  # type: ignore[attr-defined]

    @extend_schema(
        operation_id="accounting_connections_list",
        responses=ConnectionOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return self.paginated(
            selectors.connections_for_profile(profile=self.profile), ConnectionOutputSerializer
        )

    @extend_schema(
        operation_id="accounting_connections_create",
        request=InputSerializer,
        responses={201: ConnectionStartedSerializer},
        description="Start connecting (or reconnecting) your books at `provider`: answers the "
        "connection and the `authorization_url` to send your user's browser to.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            connection, url = services.connection_start(
                actor=self.caller.actor,
                provider=data.validated_data["provider"],
                profile_id=self.profile.pk,
            )
        except IntegrationError as exc:
            if exc.transient:
                raise ServiceUnavailable(exc.message) from exc
            raise _unavailable(exc.message) from exc
        except UnsafeUrl as exc:  # the provider's configured address is refused (SSRF check)
            raise _unavailable(str(exc)) from exc
        body = dict(ConnectionOutputSerializer.represent(connection))
        body["authorization_url"] = url
        return Response(
            body,
            status=201,
            headers={"Location": f"/api/v1/accounting/connections/{connection.pk}"},
        )


class AccountingConnectionDetailApi(ApiView):
    required_scopes = {"GET": (scopes.ACCOUNTING_SYNC,)}
    http_method_names = ["get", "head"]

    @extend_schema(operation_id="accounting_connections_get", responses=ConnectionOutputSerializer)
    def get(self, request: Request, connection_id: str) -> Response:
        connection = selectors.connection_get_for_profile(
            profile=self.profile, connection_id=connection_id
        )
        return Response(ConnectionOutputSerializer.represent(connection))


class AccountingSyncStatusApi(ApiView):
    required_scopes = {"GET": (scopes.ACCOUNTING_SYNC,)}
    http_method_names = ["get", "head"]
    looks_up_by_query = True  # another business's transfer is a 404 (documented)

    class QuerySerializer(StrictInputSerializer):
        object_type = serializers.ChoiceField(choices=selectors.OBJECT_TYPES)
        object_id = serializers.CharField(
            max_length=100, help_text="a transfer's reference or id; your profile's id"
        )

    @extend_schema(
        operation_id="accounting_sync_status",
        parameters=[QuerySerializer],
        responses=SyncStatusOutputSerializer,
        description="How one of your objects synced to your connected books: each job with "
        "its state and the provider's ids.",
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        object_type = query.validated_data["object_type"]
        object_id = query.validated_data["object_id"]
        rows = selectors.object_sync_status(
            object_type=object_type, object_id=object_id, profile_id=self.profile.pk
        )
        return Response(
            {
                "object_type": object_type,
                "object_id": object_id,
                "jobs": SyncJobOutputSerializer.represent_many(rows),
            }
        )


class AccountingConnectionTenantApi(ApiView):
    required_scopes = {"POST": (scopes.ACCOUNTING_SYNC,)}

    class InputSerializer(StrictInputSerializer):
        tenant_id = serializers.CharField(
            max_length=100, help_text="one of the connection's available_tenants"
        )

    @extend_schema(
        operation_id="accounting_connections_choose_tenant",
        request=InputSerializer,
        responses=ConnectionOutputSerializer,
        description="Your sign-in reaches several organisations (status `select_tenant`): "
        "choose the one to sync with. Once chosen it stays; to change it, disconnect and "
        "connect again.",
    )
    @idempotent
    def post(self, request: Request, connection_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        connection = selectors.connection_get_for_profile(
            profile=self.profile, connection_id=connection_id
        )
        if connection.status != Connection.Status.SELECT_TENANT:
            # Why not on an active connection: its synced objects live in the organisation
            # chosen; moving it would send the next ones elsewhere.
            raise Conflict(f"the connection is {connection.get_status_display().lower()}")
        tenant_id = data.validated_data["tenant_id"]
        if tenant_id not in {t.get("tenant_id") for t in connection.available_tenants}:
            raise ValidationFailed(
                [FieldError("tenant_id", "unknown_tenant", "not one of available_tenants")]
            )
        try:
            connection = services.connection_tenant_choose(
                actor=self.caller.actor, connection_id=connection.pk, tenant_id=tenant_id
            )
        except IntegrationError:
            # Chosen and active; only fetching their chart of accounts failed (finance
            # refreshes it): the answer is the connection as it now is.
            connection = selectors.connection_get_for_profile(
                profile=self.profile, connection_id=connection.pk
            )
        return Response(ConnectionOutputSerializer.represent(connection))
