"""Stream filters: state machines over a stream's readings (or over every stream of a variable in a project), and
the alerts their transitions raise.

A filter has states, one of them the initial state of every series it watches; transitions between two states; the
triggers of a transition (comparisons of the reading's value with a threshold, all of which must hold); and the
actions run on entering a state (an e-mail, a webhook, a note on the stream, a value written to another stream).
Each series the filter watches keeps its own current state (``StreamFilterSeriesState``), and how far its readings
were evaluated (``StreamFilterSeriesCursor``, shared by the project's filters); each transition raises one
``StreamFilterAlert``, kept after it is acknowledged and cleared. docs/filters.md tells the whole story.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from server.apps.core.models import CreatedModel, CreatedOnModel
from server.apps.core.scoping import STAFF_ONLY, Ability, ScopedQuerySet

FILTER_SCOPE_PERMISSIONS = {
    "view": "can_read_stream_ids",
    "add": "can_modify_stream_ids",
    "change": "can_modify_stream_ids",
    "delete": "can_modify_stream_ids",
}


class StreamFilter(CreatedModel):
    """A state machine over the readings of ``variable``'s stream of ``device``, or of every device in the project
    when ``device`` is empty."""

    name = models.CharField(max_length=100)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="stream_filters")
    project = models.ForeignKey("project.Project", on_delete=models.CASCADE, related_name="stream_filters")
    variable = models.ForeignKey("stream.StreamVariable", on_delete=models.CASCADE, related_name="stream_filters")
    device = models.ForeignKey(
        "device.Device", on_delete=models.CASCADE, null=True, blank=True, related_name="stream_filters"
    )
    active = models.BooleanField(default=True)
    # The label of the state every series starts in.
    initial_state = models.CharField(max_length=50)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = FILTER_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        indexes = [
            # The ingest's one lookup: a batch's projects' active filters.
            models.Index(fields=["project"], condition=Q(active=True), name="streamfilter_active_project"),
        ]

    def __str__(self) -> str:
        return self.name


# The project page links to the filters page for roles that read them.
VIEW_FILTERS = Ability("view_streamfilter", StreamFilter, "view")


class StreamFilterState(models.Model):
    filter = models.ForeignKey(StreamFilter, on_delete=models.CASCADE, related_name="states")
    label = models.CharField(max_length=50)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "filter__org"
    scope_permissions = FILTER_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["filter", "label"], name="streamfilterstate_unique_label")]

    def __str__(self) -> str:
        return self.label


class StreamFilterTransition(models.Model):
    """From ``src`` to ``dst`` when every trigger holds for a reading."""

    filter = models.ForeignKey(StreamFilter, on_delete=models.CASCADE, related_name="transitions")
    src = models.ForeignKey(StreamFilterState, on_delete=models.CASCADE, related_name="transitions_out")
    dst = models.ForeignKey(StreamFilterState, on_delete=models.CASCADE, related_name="transitions_in")

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "filter__org"
    scope_permissions = FILTER_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.src_id} → {self.dst_id}"


class TriggerOperator(models.TextChoices):
    GT = "gt", "greater than"
    GTE = "gte", "greater than or equal"
    LT = "lt", "less than"
    LTE = "lte", "less than or equal"
    EQ = "eq", "equal"
    NE = "ne", "not equal"


class StreamFilterTrigger(models.Model):
    """``value <operator> threshold``, past a dead band: ``gt``/``gte`` compare with ``threshold + deadband``,
    ``lt``/``lte`` with ``threshold - deadband``, ``eq`` holds within ``deadband`` of the threshold and ``ne``
    outside it. Two transitions back and forth on one threshold with a dead band give a hysteresis band."""

    transition = models.ForeignKey(StreamFilterTransition, on_delete=models.CASCADE, related_name="triggers")
    operator = models.CharField(max_length=3, choices=TriggerOperator.choices)
    threshold = models.FloatField()
    deadband = models.FloatField(default=0.0)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "transition__filter__org"
    scope_permissions = FILTER_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(deadband__gte=0), name="streamfiltertrigger_deadband")]

    def __str__(self) -> str:
        return f"{self.operator} {self.threshold} ±{self.deadband}"


class ActionType(models.TextChoices):
    EMAIL = "eml", "E-mail"
    WEBHOOK = "hook", "Webhook"
    NOTE = "note", "Stream note"
    DERIVED = "drv", "Derived stream"


class StreamFilterAction(models.Model):
    """What runs when a series enters ``state``: an e-mail to ``recipients``, a POST to ``url``, a note on the
    stream (``note`` is its text), or a value written to ``output_stream`` (``output_value``, or the reading's)."""

    state = models.ForeignKey(StreamFilterState, on_delete=models.CASCADE, related_name="actions")
    type = models.CharField(max_length=4, choices=ActionType.choices)
    recipients = models.TextField(blank=True, help_text="E-mail addresses, one a line.")
    url = models.URLField(max_length=500, blank=True)
    note = models.CharField(max_length=500, blank=True)
    output_stream = models.ForeignKey(
        "stream.StreamId", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    output_value = models.FloatField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "state__filter__org"
    scope_permissions = FILTER_SCOPE_PERMISSIONS

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.type


class StreamFilterRevision(models.Model):
    """How many times a project's filters were written (created, changed, deleted, by the services or by a cascade):
    a worker keeps the filters it compiled while the number stays, and reads it with the batch's reports. A
    trigger on the filter table moves it in the writing transaction (migration 0003); a project whose filters were
    never written has no row."""

    project = models.OneToOneField(
        "project.Project", on_delete=models.CASCADE, primary_key=True, related_name="stream_filter_revision"
    )
    number = models.BigIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.project_id}: {self.number}"


class StreamFilterSeriesState(models.Model):
    """Where one series stands in a filter. A row is written when a transition leaves the series in another state
    than it stood in; without one the series is in the filter's initial state."""

    filter = models.ForeignKey(StreamFilter, on_delete=models.CASCADE, related_name="series_states")
    series = models.BigIntegerField()
    state = models.CharField(max_length=50)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["filter", "series"], name="streamfilterseriesstate_unique_series")
        ]

    def __str__(self) -> str:
        return f"{self.filter_id}/{self.series}: {self.state}"


class StreamFilterSeriesCursor(models.Model):
    """How far a series' readings have been evaluated by its project's filters (all of them evaluate the same rows
    of a batch): the last streamer id, and the last time for readings without one. Readings at or before it are
    not evaluated again."""

    series = models.BigIntegerField(primary_key=True)
    last_streamer_local_id = models.BigIntegerField(default=0)
    last_timestamp = models.DateTimeField(null=True)
    updated_on = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.series}: {self.last_streamer_local_id}"


class AlertStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ACKNOWLEDGED = "ack", "Acknowledged"
    CLEARED = "cleared", "Cleared"


class StreamFilterAlert(CreatedOnModel):
    """One transition of one series: raised once, whatever the retries (unique by the reading that caused it),
    acknowledged and cleared by people, never deleted with its filter."""

    filter = models.ForeignKey(StreamFilter, on_delete=models.SET_NULL, null=True, related_name="alerts")
    filter_name = models.CharField(max_length=100)
    org = models.ForeignKey("org.Org", on_delete=models.CASCADE, related_name="stream_filter_alerts")
    project = models.ForeignKey("project.Project", on_delete=models.CASCADE, related_name="stream_filter_alerts")
    series = models.BigIntegerField()
    stream_slug = models.CharField(max_length=64)
    src = models.CharField(max_length=50)
    dst = models.CharField(max_length=50)
    value = models.FloatField()
    timestamp = models.DateTimeField(help_text="When the reading that moved the series was taken.")
    streamer_local_id = models.BigIntegerField(default=0)
    status = models.CharField(max_length=7, choices=AlertStatus.choices, default=AlertStatus.ACTIVE)
    acknowledged_on = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "authentication.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cleared_on = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        "authentication.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The e-mail, webhook and derived-stream actions carried out for this alert (their ids): a retried delivery
    # finds its action here and does not run it twice.
    delivered_actions = ArrayField(models.BigIntegerField(), default=list, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_org_path = "org"
    scope_permissions = {
        "view": "can_read_stream_ids",
        "change": "can_read_stream_ids",
        "add": STAFF_ONLY,
        "delete": STAFF_ONLY,
    }

    class Meta:
        ordering = ["-created_on", "-id"]
        indexes = [models.Index(fields=["org", "project", "status"], name="streamfilteralert_org_status")]
        constraints = [
            # Exactly one alert per transition: a retried or reprocessed report meets these and adds nothing.
            models.UniqueConstraint(
                fields=["filter", "series", "streamer_local_id"],
                condition=Q(streamer_local_id__gt=0),
                name="streamfilteralert_unique_reading_id",
            ),
            models.UniqueConstraint(
                fields=["filter", "series", "timestamp"],
                condition=Q(streamer_local_id=0),
                name="streamfilteralert_unique_reading_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filter_name}: {self.src} → {self.dst}"
