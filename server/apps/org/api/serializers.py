"""Shapes of organisations, memberships and invitations on the API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import MEMBER, ROLE_CHOICES


class OrgSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    avatar = serializers.SerializerMethodField()

    class Meta:
        model = Org
        fields = ["id", "name", "slug", "about", "created_on", "created_by", "avatar"]
        read_only_fields = ["id", "slug", "created_on"]
        # Name uniqueness (case-insensitive) is the service's rule, with its own message.
        extra_kwargs: dict[str, dict[str, list]] = {"name": {"validators": []}}

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_avatar(self, org: Org) -> str | None:
        return None  # organisations have no logo yet; the field is part of the contract


class OrgMemberSerializer(serializers.ModelSerializer):
    """A membership as the organisation's members see it. Only ``role`` is writable."""

    user = serializers.CharField(source="user.slug", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    org = serializers.CharField(source="org.slug", read_only=True)
    role = serializers.ChoiceField(choices=ROLE_CHOICES)
    role_name = serializers.CharField(source="get_role_display", read_only=True)
    permissions = serializers.DictField(child=serializers.BooleanField(), read_only=True)

    class Meta:
        model = OrgMembership
        fields = [
            "user",
            "username",
            "email",
            "name",
            "org",
            "role",
            "role_name",
            "is_active",
            "permissions",
            "created_on",
        ]
        read_only_fields = ["is_active", "created_on"]


class InvitationSerializer(serializers.ModelSerializer):
    org = serializers.CharField(source="org.slug", read_only=True)
    sent_by = serializers.CharField(source="sent_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "org", "email", "role", "sent_by", "sent_on", "accepted", "accepted_on"]
        read_only_fields = fields


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLE_CHOICES, default=MEMBER)


class RegisterSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="The account's slug or e-mail address.")
    role = serializers.ChoiceField(choices=ROLE_CHOICES, default=MEMBER)
