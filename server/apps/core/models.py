"""Abstract models for the fields many models share, so each idea is declared once.

- :class:`CreatedOnModel`: when a row was made (``created_on``);
- :class:`CreatedModel`: when and by whom (``created_by``, the one name for "who made it"; kept when the account is
  deleted, as ``None``);
- :class:`TargetedModel`: metadata that names what it describes by a generic target slug (``core/targets.py``),
  with the target's kind and the organisation that scopes the row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from server.apps.core.targets import KIND_CHOICES

TARGET_MAX_LENGTH = 200


class CreatedOnModel(models.Model):
    created_on = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class CreatedModel(CreatedOnModel):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True


class TargetedModel(models.Model):
    target = models.CharField(max_length=TARGET_MAX_LENGTH, help_text="The canonical slug of what it describes.")
    target_kind = models.CharField(max_length=8, choices=KIND_CHOICES)
    # The target's organisation when the row was written: what scopes it (null for a user's own rows, and for an
    # unclaimed device's).
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        abstract = True
