"""Organisations, their members and invitations.

* ``org/`` (by slug): any authenticated user may create one and becomes its owner; renaming needs
  ``can_manage_org_and_projects`` and keeps the slug; deleting needs ``can_delete_org``.
* ``org/<slug>/projects|devices|membership/``: read by any member. ``invite`` and ``register`` need
  ``can_manage_users`` (the Invitation and OrgMembership scope declarations).
* ``org/<org_slug>/members/[<user>/]``: the members; changing a role or removing a member needs ``can_manage_users``.
* ``invitation/`` (by UUID): invitations the user may manage; ``invitation/<id>/accept/`` is for the invitee, who
  is not a member yet, so it is matched by e-mail instead of by organisation.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from server.apps.core.api.pagination import LargePagination, StandardPagination
from server.apps.core.api.viewsets import ScopedModelViewSet, ScopedViewSetMixin
from server.apps.core.inputs import parse_uuid
from server.apps.device.api.serializers import DeviceSerializer
from server.apps.device.selectors import device_list
from server.apps.org.api.serializers import (
    InvitationSerializer,
    InviteSerializer,
    OrgMemberSerializer,
    OrgSerializer,
    RegisterSerializer,
)
from server.apps.org.filtersets import InvitationFilterSet, OrgFilterSet, OrgMembershipFilterSet
from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import STAFF, permissions_for_role
from server.apps.org.selectors import (
    account_for_registration,
    invitation_for_invitee,
    invitation_list_for_user,
    org_get_for_user,
    org_list_for_user,
    org_member_list,
    org_membership_of,
)
from server.apps.org.services import (
    invitation_accept,
    invitation_cancel,
    invitation_create,
    org_create,
    org_delete,
    org_member_register,
    org_member_remove,
    org_member_role_update,
    org_update,
)
from server.apps.project.api.serializers import ProjectSerializer
from server.apps.project.selectors import project_list_for_org


class OrgViewSet(ScopedModelViewSet):
    """Organisations the user belongs to (staff: all), by slug. The creator of an organisation becomes its owner."""

    queryset = Org.objects.none()
    serializer_class = OrgSerializer
    filterset_class = OrgFilterSet

    def get_queryset(self):
        return org_list_for_user(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = org_create(
            name=serializer.validated_data["name"],
            about=serializer.validated_data.get("about", ""),
            created_by=self.request.user,
        )

    def perform_update(self, serializer):
        serializer.instance = org_update(
            org=serializer.instance,
            name=serializer.validated_data.get("name"),
            about=serializer.validated_data.get("about"),
        )

    def perform_destroy(self, instance):
        org_delete(org=instance)

    def _paginated(self, queryset, serializer_class) -> Response:
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    # The organisation is only the container of these actions: looking it up needs membership ("view"); the
    # writes check the permission of what they create.

    @extend_schema(responses=ProjectSerializer(many=True))
    @action(detail=True, methods=["get"], scope_action="view", filter_backends=[], pagination_class=StandardPagination)
    def projects(self, request, slug=None):
        org = self.get_object()
        return self._paginated(project_list_for_org(user=request.user, org=org), ProjectSerializer)

    @extend_schema(responses=DeviceSerializer(many=True))
    @action(detail=True, methods=["get"], scope_action="view", filter_backends=[], pagination_class=LargePagination)
    def devices(self, request, slug=None):
        org = self.get_object()
        return self._paginated(device_list(user=request.user).filter(org=org), DeviceSerializer)

    @extend_schema(responses=OrgMemberSerializer)
    @action(detail=True, methods=["get"], scope_action="view", filter_backends=[], pagination_class=None)
    def membership(self, request, slug=None):
        """The requesting user's own membership: role and permissions. Staff see what staff may do."""
        org = self.get_object()
        membership = org_membership_of(org=org, user=request.user)
        if membership is None:  # only staff can see an organisation without belonging to it
            membership = OrgMembership(org=org, user=request.user, role=STAFF, permissions=permissions_for_role(STAFF))
        return Response(OrgMemberSerializer(membership).data)

    @extend_schema(request=InviteSerializer, responses={201: InvitationSerializer})
    @action(detail=True, methods=["post"], scope_action="view", filter_backends=[], pagination_class=None)
    def invite(self, request, slug=None):
        org = self.get_object()
        self.check_org_permission(org, Invitation, "add")
        body = InviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invitation = invitation_create(org=org, sent_by=request.user, **body.validated_data)
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RegisterSerializer, responses={201: OrgMemberSerializer})
    @action(detail=True, methods=["post"], scope_action="view", filter_backends=[], pagination_class=None)
    def register(self, request, slug=None):
        """Add an existing account (named by slug or e-mail) to the organisation."""
        org = self.get_object()
        self.check_org_permission(org, OrgMembership, "add")
        body = RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = account_for_registration(value=body.validated_data["user"])
        if user is None:
            raise serializers.ValidationError({"user": ["No account has this slug or e-mail address."]})
        membership = org_member_register(org=org, user=user, role=body.validated_data["role"], added_by=request.user)
        return Response(OrgMemberSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[OpenApiParameter("org_slug", str, OpenApiParameter.PATH, description="The organisation's slug.")]
)
class OrgMemberViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The members of one organisation, by user slug. Removal is soft: the membership stays, inactive."""

    queryset = OrgMembership.objects.none()
    serializer_class = OrgMemberSerializer
    filterset_class = OrgMembershipFilterSet
    lookup_field = "user__slug"
    lookup_url_kwarg = "user"

    def get_org(self):
        if not hasattr(self, "_org"):
            org = org_get_for_user(user=self.request.user, slug=self.kwargs["org_slug"])
            if org is None:
                raise Http404
            self._org = org
        return self._org

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OrgMembership.objects.none()
        return org_member_list(user=self.request.user, org=self.get_org())

    def object_lookup(self, value: str) -> dict:
        return {"user__slug": value}

    def perform_update(self, serializer):
        role = serializer.validated_data.get("role", serializer.instance.role)
        serializer.instance = org_member_role_update(
            membership=serializer.instance, role=role, changed_by=self.request.user
        )

    def perform_destroy(self, instance):
        org_member_remove(membership=instance, removed_by=self.request.user)


class InvitationViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Invitations the user may manage; DELETE withdraws a pending one. Create them with ``org/<slug>/invite/``."""

    queryset = Invitation.objects.none()
    serializer_class = InvitationSerializer
    filterset_class = InvitationFilterSet
    lookup_field = "id"

    def get_queryset(self):
        return invitation_list_for_user(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return {"pk": parse_uuid(value)}

    def perform_destroy(self, instance):
        invitation_cancel(invitation=instance)

    @extend_schema(request=None, responses=OrgMemberSerializer)
    @action(detail=True, methods=["post"], scope_action="view", filter_backends=[], pagination_class=None)
    def accept(self, request, id=None):
        """Join the organisation. Only the invited person (matched by e-mail) finds the invitation; others get 404."""
        invitation = invitation_for_invitee(user=request.user, invitation_id=id)
        if invitation is None:
            raise Http404
        membership = invitation_accept(invitation=invitation, user=request.user)
        return Response(OrgMemberSerializer(membership).data)
