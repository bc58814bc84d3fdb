"""Writes on organisations and their memberships."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from server.apps.core.errors import ApplicationError
from server.apps.org.models import Org, OrgMembership
from server.apps.org.roles import OWNER, ROLE_PERMISSIONS, permissions_for_role


def _unique_org_slug(name: str) -> str:
    root = slugify(name)[:100] or "org"
    slug, counter = root, 1
    while Org.objects.filter(slug=slug).exists():
        counter += 1
        slug = f"{root}-{counter}"
    return slug


@transaction.atomic
def org_create(*, name: str, created_by, about: str = "") -> Org:
    """Create an organisation; its creator becomes its owner."""
    if Org.objects.filter(name__iexact=name).exists():
        raise ApplicationError("An organisation with this name already exists.", {"name": [f"'{name}' is taken."]})
    org = Org(name=name, slug=_unique_org_slug(name), about=about, created_by=created_by)
    org.full_clean()
    org.save()
    org_member_add(org=org, user=created_by, role=OWNER)
    return org


@transaction.atomic
def org_update(*, org: Org, name: str | None = None, about: str | None = None) -> Org:
    """Rename or describe an organisation. The slug never changes."""
    if name is not None and name != org.name:
        if Org.objects.filter(name__iexact=name).exclude(pk=org.pk).exists():
            raise ApplicationError("An organisation with this name already exists.", {"name": [f"'{name}' is taken."]})
        org.name = name
    if about is not None:
        org.about = about
    org.full_clean()
    org.save(update_fields=["name", "about"])
    return org


@transaction.atomic
def org_member_add(*, org: Org, user, role: str) -> OrgMembership:
    """Make ``user`` an active member of ``org`` with ``role`` (and that role's permissions)."""
    if role not in ROLE_PERMISSIONS:
        raise ApplicationError(f"Unknown role '{role}'.", {"role": [f"'{role}' is not a role."]})
    membership, _ = OrgMembership.objects.update_or_create(
        org=org,
        user=user,
        defaults={"role": role, "permissions": permissions_for_role(role), "is_active": True},
    )
    return membership
