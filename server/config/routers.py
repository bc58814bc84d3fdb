"""The one database router.

A model names its database with a ``database_alias`` class attribute; everything else lives in ``default``.
Relations never cross databases.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Model

DEFAULT_ALIAS = "default"


def database_for_model(model: type[Model]) -> str:
    return getattr(model, "database_alias", DEFAULT_ALIAS)


class DatabaseRouter:
    def db_for_read(self, model: type[Model], **hints) -> str:
        return database_for_model(model)

    def db_for_write(self, model: type[Model], **hints) -> str:
        return database_for_model(model)

    def allow_relation(self, obj1: Model, obj2: Model, **hints) -> bool:
        return database_for_model(type(obj1)) == database_for_model(type(obj2))

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool | None:
        # Migrations carry historical models without our class attributes, so ask the app registry instead.
        if model_name is not None:
            try:
                return db == database_for_model(apps.get_model(app_label, model_name))
            except LookupError:
                pass
        # Operations without a model (RunSQL, RunPython) run where their app's models live.
        app_models = list(apps.get_app_config(app_label).get_models()) if app_label in apps.app_configs else []
        aliases = {database_for_model(m) for m in app_models} or {DEFAULT_ALIAS}
        return db in aliases
