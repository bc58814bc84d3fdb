"""Variable types: what a stream measures, the units it is stored in and how other units convert to it."""

from __future__ import annotations

from django.db import models

from server.apps.core.models import CreatedModel


class StreamDataType(models.TextChoices):
    SINGLE_VALUE = "D0", "Data: single value"
    EVENT = "E0", "Event"
    ENCODED_EVENT = "E1", "Encoded event"
    EVENT_WITH_DATA = "E2", "Event with a data pointer"
    UTC_EVENT = "E3", "Event with a UTC timestamp"


VARTYPE_SLUG_LENGTH = 60


class VarType(CreatedModel):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=VARTYPE_SLUG_LENGTH, unique=True)
    storage_units_full = models.CharField(max_length=40, blank=True)
    storage_units_short = models.CharField(max_length=20, blank=True)
    stream_data_type = models.CharField(
        max_length=2, choices=StreamDataType.choices, default=StreamDataType.SINGLE_VALUE
    )
    is_encoded = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VarTypeUnit(models.Model):
    """A unit with its ``value * m / d + o`` conversion (into storage units for input, out of them for output).

    Slugs are ``in--<var type>--<unit>`` and ``out--<var type>--<unit>`` (``vartype.services.unit_slug``).
    """

    var_type = models.ForeignKey(VarType, on_delete=models.CASCADE)
    unit_full = models.CharField(max_length=50)
    unit_short = models.CharField(max_length=20, blank=True)
    slug = models.SlugField(max_length=120, unique=True)
    m = models.IntegerField(default=1)
    d = models.IntegerField(default=1)
    o = models.FloatField(default=0.0)

    class Meta:
        abstract = True
        ordering = ["var_type", "unit_full"]
        constraints = [models.CheckConstraint(condition=~models.Q(d=0), name="%(class)s_d_not_0")]

    def __str__(self) -> str:
        return self.unit_full


class VarTypeInputUnit(VarTypeUnit):
    var_type = models.ForeignKey(VarType, on_delete=models.CASCADE, related_name="input_units")


class VarTypeOutputUnit(VarTypeUnit):
    var_type = models.ForeignKey(VarType, on_delete=models.CASCADE, related_name="output_units")
    decimal_places = models.PositiveSmallIntegerField(default=2)
    # Other units shown next to this one, by name: ``{"Gallons per minute": {"m": 1, "d": 60, "o": 0}}``.
    derived_units = models.JSONField(default=dict, blank=True)
