from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from apps.core.api.pagination import PagePagination
from apps.datastore import services
from apps.datastore.api.serializers import KeyQuerySerializer, KeySerializer, KeyWriteSerializer
from apps.datastore.authentication import (
    IsUserOrProcess,
    ProcessTokenAuthentication,
    caller_of,
)

SCOPE = OpenApiParameter("scope", str, description="system (default) or user; lists: all too")
USER = OpenApiParameter("user", str, description="another user's user-scoped keys (key grants)")
SHOW = OpenApiParameter("show_secrets", bool, description="reveal secrets (staff, owner)")


class KeyViewSet(viewsets.ViewSet):
    """The datastore: `GET/PUT/DELETE /api/v1/keys/<name>?scope=system|user`, and the list."""

    # The usual credentials, plus the process token that actions and sensors get.
    authentication_classes = [*viewsets.ViewSet.authentication_classes, ProcessTokenAuthentication]
    permission_classes = [IsUserOrProcess]
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    def query(self, default_scope: str) -> dict:
        query = KeyQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        return {
            "scope": values.get("scope") or default_scope,
            "prefix": values["prefix"],
            "user": values["user"],
            "show_secrets": values["show_secrets"] or values["decrypt"],
        }

    def shown(self, pair, show_secrets: bool) -> dict:
        caller = caller_of(self.request)
        pair.shown_value = services.shown_value(caller, pair, show_secrets=show_secrets)
        return KeySerializer(pair).data

    @extend_schema(parameters=[SCOPE, USER, SHOW], responses=KeySerializer(many=True))
    def list(self, request):
        query = self.query("all")
        keys = services.list_keys(
            caller_of(request), query["scope"], query["prefix"], query["user"]
        )
        paginator = PagePagination()
        page = paginator.paginate_queryset(keys, request, view=self)
        body = [self.shown(pair, query["show_secrets"]) for pair in page]
        return paginator.get_paginated_response(body)

    @extend_schema(parameters=[SCOPE, USER, SHOW], responses=KeySerializer)
    def retrieve(self, request, name=None):
        query = self.query("system")
        pair = services.find_key(caller_of(request), name, query["scope"], query["user"])
        return Response(self.shown(pair, query["show_secrets"]))

    @extend_schema(parameters=[SCOPE, USER], request=KeyWriteSerializer, responses=KeySerializer)
    def update(self, request, name=None):
        body = KeyWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        query = self.query("system")
        pair, created = services.set_key(
            caller_of(request),
            name,
            body.validated_data["value"],
            scope=query["scope"],
            username=query["user"],
            is_secret=body.validated_data["secret"],
            ttl=body.validated_data.get("ttl"),
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.shown(pair, False), status=answer)

    @extend_schema(parameters=[SCOPE, USER], responses={204: None})
    def destroy(self, request, name=None):
        query = self.query("system")
        services.delete_key(caller_of(request), name, query["scope"], query["user"])
        return Response(status=status.HTTP_204_NO_CONTENT)
