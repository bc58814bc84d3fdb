"""Config attributes: JSON configuration attached to an organisation, project, device, data block or user, under a
name from a shared list. Looking one up for a device falls back from the device to its project, its organisation,
and finally the user asking."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from server.apps.core import targets
from server.apps.core.models import CreatedModel, CreatedOnModel, TargetedModel
from server.apps.core.scoping import PermissionByField, ScopedQuerySet

# ``:classic:report`` style: a leading colon, then words without spaces joined by colons.
CONFIG_NAME_PATTERN = re.compile(r"^:[A-Za-z0-9_.\-]+(:[A-Za-z0-9_.\-]+)*$")
CONFIG_TARGET_KINDS = (targets.DEVICE, targets.BLOCK, targets.PROJECT, targets.ORG, targets.USER)


def validate_config_name(value: str) -> None:
    if not CONFIG_NAME_PATTERN.match(value or ""):
        raise ValidationError(
            f"'{value}' is not a config name: start with ':' and use words without spaces joined by ':' "
            "(':report:summary')."
        )


class ConfigAttributeName(CreatedModel):
    """A name config attributes may use. The list is shared by every organisation; staff add to it."""

    name = models.CharField(max_length=64, unique=True, validators=[validate_config_name])
    description = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=32), default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Who may write an attribute depends on what it configures; a user's own attributes are theirs (scope_owner_path).
CONFIG_WRITE_PERMISSION = PermissionByField(
    "target_kind",
    {
        targets.ORG: "can_manage_org_and_projects",
        targets.PROJECT: "can_manage_org_and_projects",
        targets.DEVICE: "can_modify_device",
        targets.BLOCK: "can_modify_device",
    },
)


class ConfigAttribute(TargetedModel, CreatedOnModel):
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="config_attributes"
    )
    name = models.ForeignKey(ConfigAttributeName, on_delete=models.PROTECT, related_name="attributes")
    data = models.JSONField(default=dict, blank=True)
    updated_on = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_owner_path = "target_user"
    scope_permissions = {
        "add": CONFIG_WRITE_PERMISSION,
        "change": CONFIG_WRITE_PERMISSION,
        "delete": CONFIG_WRITE_PERMISSION,
    }

    class Meta:
        ordering = ["target", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "target", "name"], name="config_attribute_unique_name_per_target", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=models.Q(target_kind=targets.USER, org__isnull=True, target_user__isnull=False)
                | (~models.Q(target_kind=targets.USER) & models.Q(target_user__isnull=True)),
                name="config_attribute_user_rows_have_no_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.name_id}"
