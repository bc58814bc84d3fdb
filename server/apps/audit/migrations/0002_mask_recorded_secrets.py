"""Entries recorded before ``registry.secret_mask`` kept the second half of a masked secret (django-auditlog's
default mask): they now show what new entries show, ``********`` for a value, ``None`` for none."""

from django.db import migrations

MASKED_MODELS = (("deviceauth", "devicekey"), ("telemetry", "ttnintegration"), ("forwarding", "destination"))
SIDE = "CASE WHEN changes->'secret'->>{i} IN ('None', '**ne') THEN 'None' WHEN changes->'secret'->>{i} = '' THEN '' ELSE '********' END"
MODELS = ", ".join(f"('{app}', '{model}')" for app, model in MASKED_MODELS)
MASK_SECRETS = f"""
UPDATE audit_auditentry
   SET changes = jsonb_set(changes, '{{secret}}', jsonb_build_array({SIDE.format(i=0)}, {SIDE.format(i=1)}))
 WHERE changes ? 'secret'
   AND content_type_id IN (SELECT id FROM django_content_type WHERE (app_label, model) IN ({MODELS}))
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_entry")]

    operations = [migrations.RunSQL(MASK_SECRETS, reverse_sql=migrations.RunSQL.noop)]
