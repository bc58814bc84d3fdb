"""Sensor graphs: the application a device runs, which decides the streams it produces.

A sensor graph's variable templates describe those streams. Claiming a device that runs the graph (or giving a
claimed device the graph) creates the project's variables and the device's streams from them
(``sensorgraph.services.sensorgraph_device_streams_create``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from server.apps.core.models import CreatedModel


class SensorGraph(CreatedModel):
    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=80, unique=True)
    major_version = models.PositiveIntegerField(default=0)
    minor_version = models.PositiveIntegerField(default=0)
    patch_version = models.PositiveIntegerField(default=0)
    app_tag = models.PositiveIntegerField(default=0)
    app_major_version = models.PositiveIntegerField(default=0)
    app_minor_version = models.PositiveIntegerField(default=0)
    report_processing_engine_ver = models.PositiveSmallIntegerField(default=2)
    org = models.ForeignKey("org.Org", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    description = models.TextField(blank=True)
    ui_extra = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "major_version", "minor_version", "patch_version"]

    def __str__(self) -> str:
        return self.slug

    @property
    def version(self) -> str:
        return f"v{self.major_version}.{self.minor_version}.{self.patch_version}"

    @property
    def app_version(self) -> str:
        return f"{self.app_major_version}.{self.app_minor_version}"


class CType(models.TextChoices):
    """How the device writes a variable's 32-bit raw value; each maps to a stream's ``raw_value_format``."""

    UNSIGNED_INT = "unsigned int", "Unsigned 32-bit integer"
    INT = "int", "Signed 32-bit integer"
    UNSIGNED_SHORT = "unsigned short", "Unsigned 16-bit integer"
    SHORT = "short", "Signed 16-bit integer"
    FLOAT = "float", "32-bit float"


RAW_VALUE_FORMAT_BY_CTYPE: dict[str, str] = {
    CType.UNSIGNED_INT: "<L",
    CType.INT: "<l",
    CType.UNSIGNED_SHORT: "<H",
    CType.SHORT: "<h",
    CType.FLOAT: "<f",
}


class VariableTemplate(CreatedModel):
    """One variable a sensor graph produces: its local id, type, scaling and default units."""

    sg = models.ForeignKey(SensorGraph, on_delete=models.CASCADE, related_name="variable_templates")
    label = models.CharField(max_length=60)
    lid = models.PositiveIntegerField()
    var_type = models.ForeignKey("vartype.VarType", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Raw value * m / d + o, before the input unit.
    m = models.IntegerField(default=1)
    d = models.IntegerField(default=1)
    o = models.FloatField(default=0.0)
    ctype = models.CharField(max_length=20, choices=CType.choices, default=CType.UNSIGNED_INT)
    default_input_unit = models.ForeignKey(
        "vartype.VarTypeInputUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    default_output_unit = models.ForeignKey(
        "vartype.VarTypeOutputUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    app_only = models.BooleanField(default=False)
    web_only = models.BooleanField(default=False)

    class Meta:
        ordering = ["sg", "lid"]
        constraints = [
            models.UniqueConstraint(fields=["sg", "lid"], name="variabletemplate_unique_lid_per_sg"),
            models.CheckConstraint(condition=models.Q(lid__lt=0x10000), name="variabletemplate_lid_16_bits"),
            models.CheckConstraint(condition=~models.Q(d=0), name="variabletemplate_d_not_0"),
        ]

    def __str__(self) -> str:
        return f"{self.sg} {self.lid_hex}"

    @property
    def lid_hex(self) -> str:
        return f"{self.lid:04x}"

    @property
    def raw_value_format(self) -> str:
        return RAW_VALUE_FORMAT_BY_CTYPE.get(self.ctype, "<L")

    def clean(self) -> None:
        errors = {}
        for field in ("default_input_unit", "default_output_unit"):
            unit = getattr(self, field)
            if unit is not None and unit.var_type_id != self.var_type_id:
                errors[field] = "The unit must belong to the template's variable type."
        if errors:
            raise ValidationError(errors)
