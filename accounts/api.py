from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from stratify.tenancy.resolve import memberships_of

from .forms import USERNAME_MAX_LENGTH


class TokenRequestSerializer(AuthTokenSerializer):
    """DRF's serializer with the username bounded like User.username: a longer one is a 400 on the
    field before any backend (and django-axes' 255-character column) sees it."""

    username = serializers.CharField(label="Username", write_only=True, max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(
        label="Password", style={"input_type": "password"}, trim_whitespace=False, write_only=True, max_length=4096
    )


class TokenObtainApi(ObtainAuthToken):
    """POST username and password -> {"token": "..."}; send it as `Authorization: Token <token>`."""

    serializer_class = TokenRequestSerializer
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # ObtainAuthToken's own list lacks the bounded JSON parser

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
