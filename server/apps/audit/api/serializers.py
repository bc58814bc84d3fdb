from __future__ import annotations

from rest_framework import serializers

from server.apps.audit.models import AuditEntry
from server.apps.audit.selectors import entry_action, entry_model
from server.apps.org.models import Org


class AuditEntrySerializer(serializers.ModelSerializer):
    org: serializers.SlugRelatedField[Org] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    action = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    object = serializers.CharField(source="object_repr", read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)
    device = serializers.CharField(source="actor_device.slug", read_only=True, allow_null=True)
    changes = serializers.JSONField(read_only=True, help_text="Each changed field: [before, after].")

    class Meta:
        model = AuditEntry
        fields = ["id", "timestamp", "org", "action", "model", "object_pk", "object", "actor", "device", "changes"]
        read_only_fields = fields

    def get_action(self, entry: AuditEntry) -> str:
        return entry_action(entry)

    def get_model(self, entry: AuditEntry) -> str:
        return entry_model(entry)
