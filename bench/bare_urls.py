"""The production URLconf plus `/bench/bare`: the baseline of bench.api_create_transfer.

A bare DRF endpoint that does one INSERT: no authentication, no permission, no throttle, no
idempotency, outside /api/ (so no request log row). It still runs the same middleware, the same
JSON parser and renderer, in the same gunicorn workers, on the same persistent connection.
"""

from __future__ import annotations

from django.db import connection
from django.urls import path
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fintech.urls import urlpatterns as production_urlpatterns

BARE_TABLE = "bench_bare_insert"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} "
    "(id bigserial PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL)"
)


class BareInsertApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {BARE_TABLE} (body, created_at) VALUES (%s, now()) RETURNING id",
                [str(request.data.get("note", ""))[:100]],
            )
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id}, status=201)


urlpatterns = [path("bench/bare", BareInsertApi.as_view()), *production_urlpatterns]
