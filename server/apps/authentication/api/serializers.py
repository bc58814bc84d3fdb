from __future__ import annotations

from rest_framework import serializers

from server.apps.authentication.models import Account


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "slug", "email", "username", "name", "tagline", "time_zone", "is_staff", "created_at"]
        read_only_fields = ["id", "slug", "email", "is_staff", "created_at"]


class AccountUpdateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, required=False)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    tagline = serializers.CharField(max_length=200, required=False, allow_blank=True)
    time_zone = serializers.CharField(max_length=64, required=False)


class SignupSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    username = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class SetPasswordSerializer(serializers.Serializer):
    old_password = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    password = serializers.CharField(trim_whitespace=False)


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class TokensSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="DRF token: send as 'Authorization: Token <key>'.")
    jwt = serializers.CharField(help_text="JSON Web Token: send as 'Authorization: jwt <token>'.")


class LoginResponseSerializer(AccountSerializer):
    token = serializers.CharField()
    jwt = serializers.CharField()

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "token", "jwt"]


class SetPasswordResponseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    token = serializers.CharField(required=False, help_text="New DRF token, when you changed your own password.")
    jwt = serializers.CharField(required=False, help_text="New JWT, when you changed your own password.")


class JWTSerializer(serializers.Serializer):
    token = serializers.CharField()
