"""Stream variables (``v--``) and the streams (``s--``) that pair a variable with a device."""

from __future__ import annotations

import uuid

from django.db import models

from server.apps.core.models import CreatedModel
from server.apps.core.scoping import Ability, ScopedQuerySet
from server.apps.stream import values

# The formats a raw reading can be read with (stream/values.py); any other would be read as ``<L`` without a word.
RAW_VALUE_FORMAT_CHOICES = [(name, values.RAW_VALUE_FORMAT_LABELS[name]) for name in values.RAW_VALUE_FORMATS]


class MdoMixin(models.Model):
    """``value * multiplication_factor / division_factor + offset``."""

    multiplication_factor = models.IntegerField(default=1)
    division_factor = models.IntegerField(default=1)
    offset = models.FloatField(default=0.0)

    class Meta:
        abstract = True


class StreamVariable(MdoMixin, CreatedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(max_length=32, unique=True, editable=False)
    name = models.CharField(max_length=60)
    about = models.TextField(blank=True)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="variables")
    project = models.ForeignKey("project.Project", on_delete=models.CASCADE, related_name="variables")
    lid = models.PositiveIntegerField()
    var_type = models.ForeignKey("vartype.VarType", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    units = models.CharField(max_length=50, blank=True)
    decimal_places = models.PositiveSmallIntegerField(default=2)
    raw_value_format = models.CharField(max_length=3, choices=RAW_VALUE_FORMAT_CHOICES, default="<L")
    app_only = models.BooleanField(default=False)
    web_only = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_read_stream_ids",
        "add": "can_modify_stream_ids",
        "change": "can_modify_stream_ids",
        "delete": "can_modify_stream_ids",
    }

    class Meta:
        ordering = ["project", "lid"]
        constraints = [
            models.UniqueConstraint(fields=["project", "lid"], name="variable_unique_lid_per_project"),
            models.CheckConstraint(condition=models.Q(lid__lt=0x10000), name="variable_lid_16_bits"),
            models.CheckConstraint(condition=~models.Q(division_factor=0), name="variable_division_factor_not_0"),
        ]

    def __str__(self) -> str:
        return self.slug


# Series ids come from this sequence on the default database: a stream's rows (streamdata database) and events carry
# the id, not the stream's slugs, so a stream can hand its rows to another (archiving) by passing the id on.
SERIES_SEQUENCE = "stream_series_seq"


def next_series() -> models.Func:
    """The database default of ``StreamId.series``: the sequence's next value."""
    return models.Func(models.Value(SERIES_SEQUENCE), function="nextval", output_field=models.IntegerField())


class MdoType(models.TextChoices):
    VARIABLE = "V", "Use the variable's MDO"
    STREAM = "S", "Use the stream's MDO"


class StreamId(MdoMixin, CreatedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(max_length=48, unique=True, editable=False)
    # The key of the stream's rows in the streamdata database and of its events (docs/databases.md). Allocated from
    # SERIES_SEQUENCE on insert; archiving gives the block's stream the device stream's series and the device's
    # stream a new one.
    series = models.IntegerField(unique=True, editable=False, db_default=next_series())
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="streams")
    project = models.ForeignKey(
        "project.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="streams"
    )
    device = models.ForeignKey("device.Device", on_delete=models.CASCADE, null=True, blank=True, related_name="streams")
    variable = models.ForeignKey(
        StreamVariable, on_delete=models.CASCADE, null=True, blank=True, related_name="streams"
    )
    block = models.ForeignKey(
        "datablock.DataBlock", on_delete=models.CASCADE, null=True, blank=True, related_name="streams"
    )
    var_lid = models.PositiveIntegerField(default=0)
    var_name = models.CharField(max_length=60, blank=True)
    var_type = models.ForeignKey("vartype.VarType", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    input_unit = models.ForeignKey(
        "vartype.VarTypeInputUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    output_unit = models.ForeignKey(
        "vartype.VarTypeOutputUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data_label = models.CharField(max_length=60, blank=True)
    mdo_type = models.CharField(max_length=1, choices=MdoType.choices, default=MdoType.STREAM)
    raw_value_format = models.CharField(max_length=3, choices=RAW_VALUE_FORMAT_CHOICES, default="<L")
    is_encoded = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_read_stream_ids",
        "add": "can_create_stream_ids",
        "change": "can_modify_stream_ids",
        "delete": "can_modify_stream_ids",
        # The stream's time series (rows in the streamdata database).
        "read_data": "can_read_stream_data",
        "create_data": "can_create_stream_data",
    }

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "device", "variable", "block"],
                name="stream_unique_project_device_variable_block",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=~models.Q(division_factor=0), name="stream_division_factor_not_0"),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def project_slug(self) -> str | None:
        return self.project.slug if self.project is not None else None

    def mdo(self) -> tuple[int, int, float]:
        """The ``(m, d, o)`` that turns a raw device value into the variable's units."""
        variable = self.variable if self.mdo_type == MdoType.VARIABLE else None
        source = variable if variable is not None else self
        return source.multiplication_factor, source.division_factor, source.offset

    def raw_to_value(self, raw: int) -> float:
        """A raw reading in internal (storage) units: format, MDO, then the input unit (``stream.values``)."""
        return values.value_from_raw(self, raw)

    def output_value(self, value: float | None) -> float | None:
        """A stored value in the stream's output unit (unchanged when it has none)."""
        return values.output_value(self, value)

    # How the dashboard shows the stream's values. Each reads the related rows, so a page listing streams loads
    # ``output_unit``, ``variable`` and ``var_type`` with them (``stream_list`` does).

    @property
    def display_label(self) -> str:
        """What its values are called: the stream's data label, else its variable's name."""
        label = self.data_label or self.var_name
        if not label and (variable := self.variable) is not None:
            label = variable.name
        return label or "Value"

    @property
    def display_units(self) -> str:
        """The units of its output values: the output unit's, else the variable's, else its type's storage units."""
        # Each related row is read only when the one before has no units (a null key reads as None, no query).
        unit = self.output_unit
        if unit is not None and (units := unit.unit_short or unit.unit_full):
            return units
        variable = self.variable
        if variable is not None and variable.units:
            return variable.units
        var_type = self.var_type
        return var_type.storage_units_short if var_type is not None else ""

    @property
    def display_decimal_places(self) -> int:
        """The decimal places its output values are shown with: the output unit's, else the variable's, else 2."""
        unit = self.output_unit
        if unit is not None:
            return unit.decimal_places
        variable = self.variable
        return variable.decimal_places if variable is not None else 2


# What the dashboard's templates ask as ``can.<name>`` (core.scoping.Ability).
VIEW_STREAMS = Ability("view_streamid", StreamId, "view")
READ_STREAM_DATA = Ability("read_data_streamid", StreamId, "read_data")
VIEW_VARIABLES = Ability("view_streamvariable", StreamVariable, "view")
