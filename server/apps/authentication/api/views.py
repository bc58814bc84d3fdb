"""Login, logout, tokens and accounts.

The login and token endpoints run without authentication classes: the clients send ``Authorization: jwt None``
before they have a token, and that must not stop them from getting one.
"""

from __future__ import annotations

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from server.apps.authentication import selectors, services
from server.apps.authentication.api import serializers
from server.apps.authentication.authentication import jwt_decode, jwt_refresh, jwt_user
from server.apps.core.api.throttles import AnonymousThrottle, LoginThrottle

BAD_CREDENTIALS = "Unable to log in with the provided e-mail and password."
UNVERIFIED = "The e-mail address {email} is not verified: follow the link sent to it, then log in again."


class CredentialsView(APIView):
    """Takes credentials in the body, so no header may reject the request."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonymousThrottle, LoginThrottle]

    def authenticated_account(self, request):
        credentials = serializers.LoginSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        account = services.account_login_attempt(request=request._request, **credentials.validated_data)
        if account is None:
            raise exceptions.AuthenticationFailed(BAD_CREDENTIALS)
        if not selectors.account_email_verified(account=account):
            raise exceptions.PermissionDenied(UNVERIFIED.format(email=account.email))
        return account


class LoginView(CredentialsView):
    @extend_schema(
        request=serializers.LoginSerializer,
        responses={200: serializers.LoginResponseSerializer, 400: None, 401: None, 403: None},
        auth=[],
        summary="Log in with e-mail and password; returns the account with a JWT and a DRF token",
    )
    def post(self, request):
        account = self.authenticated_account(request)
        tokens = services.auth_login(account=account)
        return Response({**serializers.AccountSerializer(account).data, **tokens})


class JWTAuthView(CredentialsView):
    @extend_schema(
        request=serializers.LoginSerializer,
        responses={200: serializers.JWTSerializer, 400: None, 401: None, 403: None},
        auth=[],
        summary="Log in with e-mail and password; returns only the JWT",
    )
    def post(self, request):
        account = self.authenticated_account(request)
        return Response({"token": services.auth_login(account=account)["jwt"]})


class JWTTokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def token_from(self, request) -> str:
        body = serializers.JWTSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data["token"]

    @staticmethod
    def invalid(exc: exceptions.AuthenticationFailed) -> Response:
        return Response({"token": [str(exc.detail)]}, status=status.HTTP_400_BAD_REQUEST)


class JWTRefreshView(JWTTokenView):
    @extend_schema(
        request=serializers.JWTSerializer,
        responses={200: serializers.JWTSerializer, 400: None},
        auth=[],
        summary="Exchange a valid JWT for a new one, up to the refresh limit after the original login",
    )
    def post(self, request):
        try:
            return Response({"token": jwt_refresh(self.token_from(request))})
        except exceptions.AuthenticationFailed as exc:
            return self.invalid(exc)


class JWTVerifyView(JWTTokenView):
    @extend_schema(
        request=serializers.JWTSerializer,
        responses={200: serializers.JWTSerializer, 400: None},
        auth=[],
        summary="Check that a JWT is valid",
    )
    def post(self, request):
        token = self.token_from(request)
        try:
            jwt_user(jwt_decode(token))
        except exceptions.AuthenticationFailed as exc:
            return self.invalid(exc)
        return Response({"token": token})


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Revoke the account's API tokens and end the session")
    def post(self, request):
        services.auth_logout(account=request.user)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=serializers.TokensSerializer, summary="The account's DRF token and a fresh JWT")
    def get(self, request):
        return Response(services.auth_tokens_issue(account=request.user))


class UserInfoView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=serializers.AccountSerializer, summary="The authenticated account")
    def get(self, request):
        return Response(serializers.AccountSerializer(request.user).data)


class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Accounts: everyone sees and edits their own, staff see all. ``POST account/`` is the public sign-up."""

    serializer_class = serializers.AccountSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)

    def get_permissions(self):
        if self.action == "create":
            return [AllowAny()]
        return [IsAuthenticated()]

    def perform_authentication(self, request):
        # A sign-up may come from a client that already sends a stale or placeholder token ("jwt None").
        try:
            request.user  # noqa: B018
        except exceptions.AuthenticationFailed:
            if self.action != "create":
                raise

    @extend_schema(request=serializers.SignupSerializer, responses={201: serializers.AccountSerializer}, auth=[])
    def create(self, request, *args, **kwargs):
        signup = serializers.SignupSerializer(data=request.data)
        signup.is_valid(raise_exception=True)
        account = services.account_signup(**signup.validated_data)
        return Response(serializers.AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.AccountUpdateSerializer, responses=serializers.AccountSerializer)
    def update(self, request, *args, **kwargs):
        account = self.get_object()
        changes = serializers.AccountUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        changes.is_valid(raise_exception=True)
        account = services.account_update(account=account, **changes.validated_data)
        return Response(serializers.AccountSerializer(account).data)

    @extend_schema(request=serializers.AccountUpdateSerializer, responses=serializers.AccountSerializer)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=serializers.SetPasswordSerializer, responses=serializers.SetPasswordResponseSerializer)
    @action(detail=True, methods=["post"])
    def set_password(self, request, slug=None):
        """Change the password. The account holder gives the old one (staff setting another's need not); every
        earlier token stops working, so the holder gets new ones."""
        account = self.get_object()
        body = serializers.SetPasswordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.account_set_password(
            account=account,
            password=body.validated_data["password"],
            old_password=body.validated_data.get("old_password"),
            check_old=account.pk == request.user.pk,
        )
        if account.pk != request.user.pk:  # staff on someone else's account
            return Response({"detail": "Password changed."})
        update_session_auth_hash(request._request, account)
        return Response({"detail": "Password changed.", **services.auth_tokens_issue(account=account)})
