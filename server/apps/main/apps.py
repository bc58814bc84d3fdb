from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def name_default_site(app_config, using, **kwargs) -> None:
    """Give Django's placeholder Site ("example.com") the platform's name, which allauth's e-mails speak for.

    Runs after every migrate and after each test flush, which re-creates the placeholder; a site an operator has
    renamed is left alone.
    """
    from django.conf import settings
    from django.contrib.sites.models import Site
    from django.db import router

    if not router.allow_migrate_model(using, Site):
        return
    Site.objects.using(using).filter(pk=settings.SITE_ID, name="example.com", domain="example.com").update(
        name=settings.SITE_NAME, domain="localhost:8000"
    )


class MainConfig(AppConfig):
    name = "server.apps.main"
    label = "main"

    def ready(self) -> None:
        # Sent for the sites app (this app has no models, so none is sent for it), after Django's own handler has
        # created the placeholder.
        sites = apps.get_app_config("sites")
        post_migrate.connect(name_default_site, sender=sites, dispatch_uid="main.name_default_site")
