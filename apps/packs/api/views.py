from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.response import Response

from apps.core.exceptions import InvalidInput
from apps.packs import services
from apps.packs.api.serializers import (
    PackSerializer,
    RegisterPackSerializer,
    UploadPackSerializer,
)
from apps.packs.models import Pack
from apps.rbac.drf import ScopedViewMixin
from apps.rbac.services import register_pack_as


class PackViewSet(
    ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Registered packs, looked up by ref; holders of `pack_create` register them from a path or
    an upload (and own them); admins may register them `shared` with everyone."""

    rbac_resource = "pack"

    queryset = Pack.objects.prefetch_related("actions", "environments").select_related("owner")
    serializer_class = PackSerializer
    lookup_field = "ref"
    filterset_fields = ["is_system"]

    @extend_schema(request=RegisterPackSerializer, responses={201: PackSerializer})
    @action(detail=False, methods=["post"])
    def register(self, request):
        body = RegisterPackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        path, shared = body.validated_data["path"], body.validated_data["shared"]
        pack = register_pack_as(
            request.user, shared, lambda owner: services.register_pack(path, owner=owner)
        )
        return Response(PackSerializer(pack).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UploadPackSerializer, responses={201: PackSerializer})
    @action(
        detail=False,
        methods=["post"],
        parser_classes=[MultiPartParser, FileUploadParser],
    )
    def upload(self, request):
        upload = request.data.get("file")
        if upload is None:
            raise InvalidInput("send the pack as a .tar.gz in the multipart field `file`")
        body = UploadPackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        archive = upload.read()
        pack = register_pack_as(
            request.user,
            body.validated_data["shared"],
            lambda owner: services.register_pack_archive(
                archive, owner=owner, filename=upload.name
            ),
        )
        return Response(PackSerializer(pack).data, status=status.HTTP_201_CREATED)
