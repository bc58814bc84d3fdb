"""Generic properties: name/value pairs attached to a device, project or data block by its target slug, and the
property templates an organisation defines so its properties share names, types and allowed values."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from server.apps.core.models import CreatedModel, TargetedModel
from server.apps.core.scoping import Ability, ScopedQuerySet

STR_VALUE_MAX_LENGTH = 256
BOOL_TRUE, BOOL_FALSE = "True", "False"


class PropertyType(models.TextChoices):
    INT = "int", "Integer"
    STR = "str", "Text"
    BOOL = "bool", "Yes/No"


def typed_value(type_: str, str_value: str) -> int | bool | str:
    """The stored text as the property's type: ``"12"`` → 12, ``"True"`` → True."""
    if type_ == PropertyType.INT:
        return int(str_value)
    if type_ == PropertyType.BOOL:
        return str_value == BOOL_TRUE
    return str_value


def check_stored_value(type_: str, str_value: str) -> None:
    """Raise ``ValidationError`` unless ``str_value`` is the stored form of a ``type_`` value."""
    if type_ == PropertyType.INT:
        try:
            int(str_value)
        except ValueError:
            raise ValidationError({"str_value": f"'{str_value}' is not an integer."}) from None
    elif type_ == PropertyType.BOOL and str_value not in (BOOL_TRUE, BOOL_FALSE):
        raise ValidationError({"str_value": f"A yes/no property is stored as {BOOL_TRUE} or {BOOL_FALSE}."})


class GenericProperty(TargetedModel, CreatedModel):
    name = models.CharField(max_length=60)
    type = models.CharField(max_length=4, choices=PropertyType.choices, default=PropertyType.STR)
    str_value = models.CharField(max_length=STR_VALUE_MAX_LENGTH, blank=True)
    is_system = models.BooleanField(default=False, help_text="Written by the platform rather than a person.")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_read_device_properties",
        "add": "can_modify_device_properties",
        "change": "can_modify_device_properties",
        "delete": "can_modify_device_properties",
    }

    class Meta:
        ordering = ["target", "name"]
        verbose_name_plural = "generic properties"
        constraints = [
            # Per organisation, so a device that changes hands starts with a clean slate for its new owner.
            models.UniqueConstraint(
                fields=["org", "target", "name"], name="property_unique_name_per_target", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target}: {self.name}={self.str_value}"

    def clean(self) -> None:
        check_stored_value(self.type, self.str_value)

    @property
    def value(self) -> int | bool | str:
        return typed_value(self.type, self.str_value)


class GenericPropertyOrgTemplate(CreatedModel):
    """A property an organisation's devices and projects share: its name, type and, when it has enums, the only
    values it may take."""

    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="property_templates")
    name = models.CharField(max_length=60)
    type = models.CharField(max_length=4, choices=PropertyType.choices, default=PropertyType.STR)
    default = models.CharField(max_length=STR_VALUE_MAX_LENGTH, blank=True, help_text="What forms offer first.")
    is_system = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "add": "can_manage_org_and_projects",
        "change": "can_manage_org_and_projects",
        "delete": "can_manage_org_and_projects",
    }

    class Meta:
        ordering = ["org", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="property_template_unique_name_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.org}: {self.name}"

    def clean(self) -> None:
        if self.default:
            check_stored_value(self.type, self.default)


class GenericPropertyOrgEnum(models.Model):
    """One allowed value of a property template."""

    template = models.ForeignKey(GenericPropertyOrgTemplate, on_delete=models.CASCADE, related_name="enums")
    value = models.CharField(max_length=STR_VALUE_MAX_LENGTH)

    class Meta:
        ordering = ["template", "value"]
        constraints = [
            models.UniqueConstraint(fields=["template", "value"], name="property_enum_unique_value_per_template"),
        ]

    def __str__(self) -> str:
        return self.value


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
VIEW_PROPERTIES = Ability("view_genericproperty", GenericProperty, "view")
CHANGE_PROPERTIES = Ability("change_genericproperty", GenericProperty, "change")
