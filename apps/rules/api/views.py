from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.pagination import NewestFirstCursorPagination
from apps.core.exceptions import InvalidInput
from apps.rbac.drf import ScopedViewMixin
from apps.rbac.services import check_rule_action
from apps.rules import services
from apps.rules.api.serializers import (
    RuleEnforcementSerializer,
    RuleSerializer,
    RuleTestSerializer,
    RuleWriteSerializer,
)
from apps.rules.models import Rule, RuleEnforcement


class RuleViewSet(ScopedViewMixin, viewsets.ModelViewSet):
    """Rules, looked up by ref; PATCH `{"enabled": false}` disables one at once."""

    queryset = Rule.objects.select_related("pack", "owner")
    serializer_class = RuleSerializer
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    filterset_fields = ["pack__ref", "trigger_ref", "action_ref", "is_enabled"]
    rbac_resource = "rule"
    rbac_verbs = {"test": "view"}

    @extend_schema(request=RuleWriteSerializer, responses={201: RuleSerializer})
    def create(self, request):
        body = RuleWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pack_ref = body.validated_data.pop("pack")
        self.check_create(pack_ref)
        check_rule_action(request.user, action_ref_of(request.data))
        rule = services.create_rule(request.data, owner=request.user, pack_ref=pack_ref)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RuleWriteSerializer, responses={200: RuleSerializer})
    def update(self, request, ref=None, partial=False):
        rule = self.get_object()
        if not isinstance(request.data, dict):
            raise InvalidInput("send the rule as a JSON object")
        current = RuleSerializer(rule).data
        check_rule_action(request.user, action_ref_of(request.data))
        rule = services.update_rule(rule, {**current, **request.data} if partial else request.data)
        return Response(RuleSerializer(rule).data)

    def destroy(self, request, ref=None):
        services.delete_rule(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RuleTestSerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def test(self, request, ref=None):
        body = RuleTestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(services.test_rule(self.get_object().ref, body.validated_data["payload"]))


class RuleEnforcementViewSet(
    ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Every evaluation of a rule against a trigger instance: matched, not matched, failed."""

    queryset = RuleEnforcement.objects.select_related("rule")
    rbac_resource = "rule_enforcement"
    serializer_class = RuleEnforcementSerializer
    pagination_class = NewestFirstCursorPagination
    filterset_fields = ["rule_ref", "trigger_instance", "status", "execution"]


def action_ref_of(data: dict) -> str:
    action = data.get("action")
    return str(action.get("ref", "")) if isinstance(action, dict) else ""
