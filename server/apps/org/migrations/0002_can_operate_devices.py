"""``can_operate_devices`` (queue and cancel operations on devices) for the memberships made before it: whoever
could already (``can_modify_device``), and active operators, whose role now carries it (docs/permissions.md)."""

from django.db import migrations

FORWARD = """
UPDATE org_orgmembership
SET permissions = permissions || jsonb_build_object(
    'can_operate_devices',
    COALESCE((permissions ->> 'can_modify_device')::boolean, false) OR (role = 'r1' AND is_active)
)
WHERE NOT permissions ? 'can_operate_devices'
"""

BACKWARD = "UPDATE org_orgmembership SET permissions = permissions - 'can_operate_devices'"


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
