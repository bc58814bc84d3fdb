"""Organisations, their members and the invitations to join them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from server.apps.core.models import CreatedModel, CreatedOnModel
from server.apps.core.scoping import STAFF_ONLY, Ability, ScopedQuerySet
from server.apps.org.roles import MEMBER, ROLE_CHOICES


class Org(CreatedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    # Chosen once from the name; renaming the organisation keeps it, so URLs and API ids stay stable.
    slug = models.SlugField(max_length=120, unique=True)
    about = models.TextField(blank=True)
    is_vendor = models.BooleanField(default=False)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, through="OrgMembership", related_name="orgs")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = ""
    scope_permissions = {"add": None, "change": "can_manage_org_and_projects", "delete": "can_delete_org"}

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrgMembership(CreatedOnModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="org_memberships")
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=3, choices=ROLE_CHOICES, default=MEMBER)
    permissions = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {"add": "can_manage_users", "change": "can_manage_users", "delete": "can_manage_users"}

    class Meta:
        ordering = ["org", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "org"], name="org_membership_unique_user_org")]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.role})"

    def has_permission(self, key: str) -> bool:
        return bool(self.is_active and self.permissions.get(key))


class Invitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=3, choices=ROLE_CHOICES, default=MEMBER)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_on = models.DateTimeField(default=timezone.now)
    accepted = models.BooleanField(default=False)
    accepted_on = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_manage_users",
        "add": "can_manage_users",
        "change": STAFF_ONLY,
        "delete": "can_manage_users",
    }

    class Meta:
        ordering = ["-sent_on"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.org}"


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
DELETE_MEMBERSHIPS = Ability("delete_orgmembership", OrgMembership, "delete")
DELETE_INVITATIONS = Ability("delete_invitation", Invitation, "delete")
