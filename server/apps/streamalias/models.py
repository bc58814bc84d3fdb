"""Stream aliases (``a--``): virtual streams that read one physical stream after another.

An alias is a list of taps. From each tap's timestamp until the next tap's, the alias reads the tapped stream, so
replacing a device in the field keeps one continuous series: the old device's stream up to the swap, the new one's
after it.
"""

from __future__ import annotations

from django.db import models

from server.apps.core.models import CreatedModel
from server.apps.core.scoping import ScopedQuerySet

ALIAS_SCOPE_PERMISSIONS = {
    # Aliases are virtual streams: whoever reads stream ids reads them; their data needs can_read_stream_data.
    "view": "can_read_stream_ids",
    "add": "can_manage_stream_aliases",
    "change": "can_manage_stream_aliases",
    "delete": "can_manage_stream_aliases",
}


class StreamAlias(CreatedModel):
    id = models.BigAutoField(primary_key=True)
    # Always alias_slug(id); kept in the table so lookups and lists need no formatting.
    slug = models.CharField(max_length=24, unique=True, editable=False)
    name = models.CharField(max_length=100)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="stream_aliases")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = ALIAS_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "stream aliases"

    def __str__(self) -> str:
        return self.slug


class StreamAliasTap(CreatedModel):
    """From ``timestamp`` on (until the alias's next tap), the alias reads ``stream`` (nothing, when it has none)."""

    alias = models.ForeignKey(StreamAlias, on_delete=models.CASCADE, related_name="taps")
    timestamp = models.DateTimeField()
    # None: a gap, the alias reads nothing from this tap on (a logical device's mapping ended or paused).
    stream = models.ForeignKey(
        "stream.StreamId", on_delete=models.CASCADE, null=True, blank=True, related_name="alias_taps"
    )

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "alias__org"
    scope_permissions = ALIAS_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["alias", "timestamp"]
        constraints = [
            # Two taps at one instant would leave the series ambiguous.
            models.UniqueConstraint(fields=["alias", "timestamp"], name="streamaliastap_unique_time_per_alias"),
        ]

    def __str__(self) -> str:
        return f"{self.alias_id}@{self.timestamp}: {self.stream_id}"
