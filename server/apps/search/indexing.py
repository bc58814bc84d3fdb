"""Keeping the Elasticsearch indexes up to date (only when ``ELASTICSEARCH_URL`` is set).

django-elasticsearch-dsl follows model saves and deletes; this processor defers each update until the transaction
commits, so a rolled-back write never reaches the index, and logs a failed update instead of failing a request whose
data is already saved: the index is a copy, and ``manage.py search_index --rebuild`` makes it whole again.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import router, transaction
from django_elasticsearch_dsl.registries import registry as document_registry
from django_elasticsearch_dsl.signals import RealTimeSignalProcessor

logger = logging.getLogger(__name__)


def _run_logged(action: str, instance_label: str, func, *args, **kwargs) -> None:
    try:
        func(*args, **kwargs)
    except Exception:
        # Not re-raised: the database write has committed; the index is repaired by a rebuild.
        logger.exception("search index %s failed for %s", action, instance_label)


class OnCommitSignalProcessor(RealTimeSignalProcessor):
    def handle_save(self, sender, instance, **kwargs) -> None:
        if sender not in document_registry.get_models():
            return
        label = f"{sender._meta.label} {instance.pk}"
        transaction.on_commit(
            lambda: _run_logged("update", label, document_registry.update, instance),
            using=router.db_for_write(sender),
        )

    def handle_delete(self, sender, instance, **kwargs) -> None:
        if sender not in document_registry.get_models():
            return
        # Build the delete actions now: Django clears the instance's pk once the delete is done.
        label = f"{sender._meta.label} {instance.pk}"
        for document in document_registry.get_documents([sender]):
            actions = list(document().get_actions([instance], "delete"))
            transaction.on_commit(
                partial(_run_logged, "delete", label, document().bulk, actions, raise_on_error=False),
                using=router.db_for_write(sender),
            )

    def handle_pre_delete(self, sender, instance, **kwargs) -> None:
        # No document follows related models, so there is nothing to update before a delete.
        return
