"""Names the Site row that allauth's e-mails speak for ("Hello from <site name>")."""

from django.conf import settings
from django.db import migrations


def name_site(apps, schema_editor):
    site_model = apps.get_model("sites", "Site")
    site, _ = site_model.objects.get_or_create(pk=settings.SITE_ID, defaults={"domain": "localhost:8000"})
    site.name = settings.SITE_NAME
    if site.domain == "example.com":
        site.domain = "localhost:8000"
    site.save()


class Migration(migrations.Migration):
    dependencies = [("sites", "0002_alter_domain_unique")]

    operations = [migrations.RunPython(name_site, migrations.RunPython.noop)]
