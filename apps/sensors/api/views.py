from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from apps.rbac.drf import ScopedViewMixin
from apps.sensors import services
from apps.sensors.api.serializers import SensorSerializer, SensorUpdateSerializer
from apps.sensors.models import Sensor


class SensorViewSet(
    ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Pack sensors and their process state, by ref; PATCH `{"enabled": ...}` (`sensor_modify`:
    admins and the pack's owner) starts or stops one."""

    queryset = Sensor.objects.select_related("pack")
    serializer_class = SensorSerializer
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    filterset_fields = ["pack__ref", "is_enabled", "status"]
    rbac_resource = "sensor"

    @extend_schema(request=SensorUpdateSerializer, responses={200: SensorSerializer})
    def partial_update(self, request, ref=None):
        body = SensorUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sensor = services.set_sensor_enabled(self.get_object().ref, body.validated_data["enabled"])
        return Response(SensorSerializer(sensor).data)
