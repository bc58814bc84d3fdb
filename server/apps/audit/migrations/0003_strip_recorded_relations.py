"""Create and delete entries recorded before the registry left reverse relations out (``registry.py``) hold a fake
field for each kind of row that may point at the audited one, e.g. ``"keys": [null, "deviceauth.DeviceKey.None"]``
on a device: they lose them, and keep the row's own fields. A reverse relation's name is never a field of the model,
so nothing real goes."""

from django.db import migrations

STRIP_RELATIONS = """
UPDATE audit_auditentry SET changes = changes - %s::text[]
 WHERE content_type_id = %s AND changes ?| %s::text[]
"""


def reverse_relations(model) -> list[str]:
    """What the registry leaves out: the relations pointing at ``model``, by the name django-auditlog gave them."""
    return sorted(field.name for field in model._meta.get_fields() if field.auto_created and not field.concrete)


def strip_recorded_relations(apps, schema_editor) -> None:
    AuditEntry = apps.get_model("audit", "AuditEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    audited = AuditEntry.objects.values("content_type_id").distinct()
    with schema_editor.connection.cursor() as cursor:
        for content_type in ContentType.objects.filter(id__in=audited):
            try:
                model = apps.get_model(content_type.app_label, content_type.model)
            except LookupError:
                continue  # a model gone since: its entries stay as they are
            names = reverse_relations(model)
            if names:
                cursor.execute(STRIP_RELATIONS, [names, content_type.id, names])


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_mask_recorded_secrets"), ("contenttypes", "0002_remove_content_type_name")]

    operations = [migrations.RunPython(strip_recorded_relations, reverse_code=migrations.RunPython.noop)]
