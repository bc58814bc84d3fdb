"""Stream filters and alerts on the wire. A filter travels as one document: its states with their actions, and its
transitions with their triggers, named by the states' labels."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from server.apps.streamfilter.models import (
    ActionType,
    StreamFilter,
    StreamFilterAlert,
    TriggerOperator,
)


class TriggerSerializer(serializers.Serializer):
    operator = serializers.ChoiceField(choices=TriggerOperator.choices)
    threshold = serializers.FloatField()
    deadband = serializers.FloatField(
        required=False,
        default=0.0,
        min_value=0.0,
        help_text="How far past the threshold a value must go (gt/gte above it, lt/lte below it; eq within it, ne "
        "outside it): two transitions back and forth on one threshold make a hysteresis band.",
    )


class TransitionSerializer(serializers.Serializer):
    src = serializers.CharField(max_length=50, help_text="The label of the state the transition leaves.")
    dst = serializers.CharField(max_length=50, help_text="The label of the state it enters.")
    triggers = TriggerSerializer(many=True, help_text="All of them must hold for a reading.")


class ActionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ActionType.choices)
    recipients = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="eml: e-mail addresses, one a line."
    )
    url = serializers.CharField(required=False, allow_blank=True, default="", max_length=500, help_text="hook: URL.")
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500, help_text="note: the note's text."
    )
    output_stream = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="drv: the s-- slug of the stream to write to."
    )
    output_value = serializers.FloatField(
        required=False, allow_null=True, default=None, help_text="drv: the value written (default: the reading's)."
    )


class StateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=50)  # type: ignore[assignment]
    actions = ActionSerializer(many=True, required=False, default=list, help_text="Run on entering the state.")


class StreamFilterSerializer(serializers.ModelSerializer):
    org = serializers.CharField(source="org.slug", read_only=True)
    project = serializers.CharField(source="project.slug", read_only=True)
    variable = serializers.CharField(source="variable.slug", read_only=True)
    device = serializers.CharField(source="device.slug", read_only=True, allow_null=True)
    states = serializers.SerializerMethodField()
    transitions = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = StreamFilter
        fields = [
            "id",
            "name",
            "org",
            "project",
            "variable",
            "device",
            "active",
            "initial_state",
            "states",
            "transitions",
            "created_on",
            "created_by",
        ]
        read_only_fields = fields

    @extend_schema_field(StateSerializer(many=True))
    def get_states(self, obj: StreamFilter) -> Any:
        return StateSerializer(
            [
                {
                    "label": state.label,
                    "actions": [
                        {
                            "type": action.type,
                            "recipients": action.recipients,
                            "url": action.url,
                            "note": action.note,
                            "output_stream": action.output_stream.slug if action.output_stream else None,
                            "output_value": action.output_value,
                        }
                        for action in state.actions.all()
                    ],
                }
                for state in obj.states.all()
            ],
            many=True,
        ).data

    @extend_schema_field(TransitionSerializer(many=True))
    def get_transitions(self, obj: StreamFilter) -> Any:
        return TransitionSerializer(
            [
                {"src": t.src.label, "dst": t.dst.label, "triggers": list(t.triggers.all())}
                for t in obj.transitions.all()
            ],
            many=True,
        ).data


class StreamFilterCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    variable = serializers.CharField(help_text="The v-- slug of the variable whose streams the filter watches.")
    device = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="A d-- slug: watch this device's stream only."
    )
    active = serializers.BooleanField(required=False, default=True)
    initial_state = serializers.CharField(max_length=50)
    states = StateSerializer(many=True)
    transitions = TransitionSerializer(many=True, required=False, default=list)


class StreamFilterUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    active = serializers.BooleanField(required=False)
    initial_state = serializers.CharField(max_length=50, required=False)
    states = StateSerializer(many=True, required=False)
    transitions = TransitionSerializer(many=True, required=False)


class StreamFilterAlertSerializer(serializers.ModelSerializer):
    org = serializers.CharField(source="org.slug", read_only=True)
    project = serializers.CharField(source="project.slug", read_only=True)
    stream = serializers.CharField(source="stream_slug", read_only=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", read_only=True, allow_null=True)
    cleared_by = serializers.CharField(source="cleared_by.username", read_only=True, allow_null=True)

    class Meta:
        model = StreamFilterAlert
        fields = [
            "id",
            "filter",
            "filter_name",
            "org",
            "project",
            "stream",
            "src",
            "dst",
            "value",
            "timestamp",
            "streamer_local_id",
            "status",
            "created_on",
            "acknowledged_on",
            "acknowledged_by",
            "cleared_on",
            "cleared_by",
        ]
        read_only_fields = fields
