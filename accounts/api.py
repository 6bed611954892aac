from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from stratify.tenancy.resolve import memberships_of


class TokenObtainApi(ObtainAuthToken):
    """POST username and password -> {"token": "..."}; send it as `Authorization: Token <token>`."""

    @extend_schema(
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TenantMembershipSerializer(serializers.Serializer):
    slug = serializers.CharField(source="distributor.slug")
    name = serializers.CharField(source="distributor.name")
    currency = serializers.CharField(source="distributor.currency")
    role = serializers.CharField()


class TenantListApi(APIView):
    """The distributors the caller belongs to, and the role in each."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TenantMembershipSerializer(many=True))
    def get(self, request):
        return Response(TenantMembershipSerializer(memberships_of(request.user), many=True).data)
