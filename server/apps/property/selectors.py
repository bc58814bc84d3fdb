"""Reads on properties and property templates, already scoped to a user."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.targets import Target, target_of
from server.apps.org.selectors import org_get_for_user
from server.apps.property.models import GenericProperty, GenericPropertyOrgTemplate
from server.apps.property.services import PROPERTY_TARGET_KINDS


def property_list(*, user) -> QuerySet[GenericProperty]:
    return GenericProperty.objects.restrict(user, "view").select_related("created_by")


def properties_for(*, user, target: Target | models.Model | str) -> QuerySet[GenericProperty]:
    """The properties of a device, project or data block (an object, a :class:`Target` or a slug) that ``user``
    may read: none without ``can_read_device_properties``."""
    target = target_of(user=user, target=target, kinds=PROPERTY_TARGET_KINDS)
    return property_list(user=user).filter(target=target.slug, org_id=target.org_id)


def property_template_list(*, user) -> QuerySet[GenericPropertyOrgTemplate]:
    return (
        GenericPropertyOrgTemplate.objects.restrict(user, "view")
        .select_related("org", "created_by")
        .prefetch_related("enums")
    )


def property_templates_for_org(*, user, org) -> QuerySet[GenericPropertyOrgTemplate]:
    return property_template_list(user=user).filter(org=org)


def visible_org(*, user, slug: str | None):
    """The organisation a ``?org=`` or body field names among those ``user`` belongs to; 404 otherwise."""
    if not slug:
        raise ApplicationError("An organisation is required.", {"org": ["This field is required."]})
    org = org_get_for_user(user=user, slug=slug)
    if org is None:
        raise NotFoundError("Organisation not found.", {"org": ["Not found."]})
    return org
