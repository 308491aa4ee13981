from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response

from apps.sensors import services
from apps.sensors.api.serializers import SensorSerializer, SensorUpdateSerializer
from apps.sensors.models import Sensor


class SensorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Pack sensors and their process state, by ref; staff PATCH `{"enabled": ...}` to start or
    stop one."""

    queryset = Sensor.objects.select_related("pack")
    serializer_class = SensorSerializer
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    filterset_fields = ["pack__ref", "is_enabled", "status"]

    def get_permissions(self):
        # Enabling a sensor runs pack code on the sensor container: staff only.
        return [IsAdminUser()] if self.action == "partial_update" else [IsAuthenticated()]

    @extend_schema(request=SensorUpdateSerializer, responses={200: SensorSerializer})
    def partial_update(self, request, ref=None):
        body = SensorUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sensor = services.set_sensor_enabled(self.get_object().ref, body.validated_data["enabled"])
        return Response(SensorSerializer(sensor).data)
