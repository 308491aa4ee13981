from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.policies import services
from apps.policies.api.serializers import PolicySerializer, PolicyWriteSerializer
from apps.policies.models import Policy
from apps.policies.specs import POLICY_PARAMETERS
from apps.rbac.drf import ScopedViewMixin


class PolicyViewSet(ScopedViewMixin, viewsets.ModelViewSet):
    """Policies on actions, looked up by ref; readable and changeable as their pack is."""

    queryset = Policy.objects.select_related("pack")
    serializer_class = PolicySerializer
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    filterset_fields = ["pack__ref", "resource_ref", "policy_type", "is_enabled"]
    rbac_resource = "policy"

    @extend_schema(request=PolicyWriteSerializer, responses={201: PolicySerializer})
    def create(self, request):
        body = PolicyWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.check_create(body.validated_data["pack"])
        policy = services.create_policy(request.data, pack_ref=body.validated_data["pack"])
        return Response(PolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PolicyWriteSerializer, responses={200: PolicySerializer})
    def update(self, request, ref=None, partial=False):
        policy = self.get_object()
        data = request.data
        if partial and isinstance(data, dict):
            data = {**PolicySerializer(policy).data, **data}
        return Response(PolicySerializer(services.update_policy(policy, data)).data)

    def destroy(self, request, ref=None):
        services.delete_policy(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PolicyTypeView(APIView):
    """The policy types and their parameters with defaults (null: required)."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response(
            [
                {
                    "name": name,
                    "parameters": {
                        param: (None if default is ... else default)
                        for param, (default, _) in parameters.items()
                    },
                }
                for name, parameters in POLICY_PARAMETERS.items()
            ]
        )
