"""Writes on organisations, their memberships and the invitations to join them.

Services that act on someone's behalf take the acting user (``added_by``, ``changed_by``, ``sent_by``, ...) and
check the role rules themselves: only owners make or unmake owners and only staff give the staff role
(``roles.permission_to_grant``). ``None`` as the actor means the platform itself (seeding, tests), which may do
anything. Whether the actor may manage users at all is checked by the caller through the scoping mechanism.
"""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.contrib.sites.models import Site
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from server.apps.core.errors import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from server.apps.core.scoping import user_has_org_permission
from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import OWNER, ROLE_CHOICES, ROLE_PERMISSIONS, permission_to_grant, permissions_for_role

logger = logging.getLogger(__name__)

ROLE_LABELS = dict(ROLE_CHOICES)


# Organisations ----------------------------------------------------------------------------------------------------


def _unique_org_slug(name: str) -> str:
    root = slugify(name)[:100] or "org"
    slug, counter = root, 1
    while Org.objects.filter(slug=slug).exists():
        counter += 1
        slug = f"{root}-{counter}"
    return slug


def _save_org(org: Org, **kwargs) -> None:
    # The unique constraints settle a race between two writes the checks let through.
    try:
        with transaction.atomic():
            org.save(**kwargs)
    except IntegrityError as exc:
        raise ApplicationError(
            "An organisation with this name already exists.", {"name": [f"'{org.name}' is taken."]}
        ) from exc


@transaction.atomic
def org_create(*, name: str, created_by, about: str = "") -> Org:
    """Create an organisation; its creator becomes its owner."""
    if Org.objects.filter(name__iexact=name).exists():
        raise ApplicationError("An organisation with this name already exists.", {"name": [f"'{name}' is taken."]})
    org = Org(name=name, slug=_unique_org_slug(name), about=about, created_by=created_by)
    org.full_clean()
    _save_org(org)
    org_member_add(org=org, user=created_by, role=OWNER)
    return org


@transaction.atomic(durable=True)
def org_update(*, org: Org, name: str | None = None, about: str | None = None) -> Org:
    """Rename or describe an organisation. The slug never changes."""
    if name is not None and name != org.name:
        if Org.objects.filter(name__iexact=name).exclude(pk=org.pk).exists():
            raise ApplicationError("An organisation with this name already exists.", {"name": [f"'{name}' is taken."]})
        org.name = name
    if about is not None:
        org.about = about
    org.full_clean()
    _save_org(org, update_fields=["name", "about"])
    return org


# Not durable: the race test holds a deletion open inside its own transaction while a member is removed.
@transaction.atomic
def org_delete(*, org: Org) -> None:
    """Delete an organisation with its projects and memberships.

    Refused while it still holds devices or data blocks: their readings live in the stream-data database, which a
    cascade cannot reach, so they must be unclaimed or deleted through their own services first.
    """
    org = _lock_org(org.pk)
    if org.devices.exists():
        raise ConflictError("This organisation still has devices: unclaim or move them first.")
    if org.datablocks.exists():
        raise ConflictError("This organisation still has data blocks: delete them first.")
    org.delete()


# Memberships ------------------------------------------------------------------------------------------------------


def _validate_role(role: str) -> None:
    if role not in ROLE_PERMISSIONS:
        raise ApplicationError(f"Unknown role '{role}'.", {"role": [f"'{role}' is not a role."]})


def _require_grant(actor, org: Org, role: str) -> None:
    """Whether ``actor`` may give or take away ``role`` in ``org`` (see the module docstring)."""
    if actor is not None and not user_has_org_permission(actor, org, permission_to_grant(role)):
        raise PermissionDeniedError(f"You may not give or take away the role '{ROLE_LABELS[role]}'.")


def _lock_org(org_id) -> Org:
    """Serialise membership changes of one organisation, so two owners cannot demote each other at once.

    An organisation deleted meanwhile (the request read it just before) is a 404, like one that never existed.
    """
    org = Org.objects.select_for_update().filter(pk=org_id).first()
    if org is None:
        raise NotFoundError("This organisation no longer exists.")
    return org


def _reload_membership(membership: OrgMembership) -> None:
    """Read ``membership`` again under the organisation's lock; gone with its organisation meanwhile is a 404."""
    try:
        membership.refresh_from_db()
    except OrgMembership.DoesNotExist:
        raise NotFoundError("This membership no longer exists.") from None


def _lock_invitation(invitation: Invitation) -> Invitation:
    found = Invitation.objects.select_for_update().select_related("org").filter(pk=invitation.pk).first()
    if found is None:
        raise NotFoundError("This invitation no longer exists.")
    return found


def _ensure_another_owner(membership: OrgMembership) -> None:
    others = OrgMembership.objects.filter(org_id=membership.org_id, role=OWNER, is_active=True).exclude(
        pk=membership.pk
    )
    if not others.exists():
        raise ApplicationError(
            "An organisation must keep at least one owner.",
            {"role": ["Make another member owner first."]},
        )


@transaction.atomic
def org_member_add(*, org: Org, user, role: str) -> OrgMembership:
    """Make ``user`` an active member of ``org`` with ``role`` (and that role's permissions)."""
    _validate_role(role)
    membership, _ = OrgMembership.objects.update_or_create(
        org=org,
        user=user,
        defaults={"role": role, "permissions": permissions_for_role(role), "is_active": True},
    )
    return membership


@transaction.atomic(durable=True)
def org_member_register(*, org: Org, user, role: str, added_by) -> OrgMembership:
    """Add an existing account to ``org``; a current member is refused (change their role instead)."""
    _validate_role(role)
    _require_grant(added_by, org, role)
    _lock_org(org.pk)
    if OrgMembership.objects.filter(org=org, user=user, is_active=True).exists():
        raise ApplicationError("This user is already a member.", {"user": ["Already a member of this organisation."]})
    return org_member_add(org=org, user=user, role=role)


@transaction.atomic(durable=True)
def org_member_role_update(*, membership: OrgMembership, role: str, changed_by) -> OrgMembership:
    """Give a member another role (and its permission set). The last owner keeps their role."""
    _validate_role(role)
    org = _lock_org(membership.org_id)
    _reload_membership(membership)
    if not membership.is_active:
        raise ApplicationError("This user is no longer a member.")
    if role == membership.role:
        return membership
    _require_grant(changed_by, org, membership.role)
    _require_grant(changed_by, org, role)
    if membership.role == OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    membership.permissions = permissions_for_role(role)
    membership.save(update_fields=["role", "permissions"])
    return membership


@transaction.atomic(durable=True)
def org_member_remove(*, membership: OrgMembership, removed_by) -> OrgMembership:
    """Remove a member. Removal is soft (inactive, no permissions), so history keeps its names."""
    org = _lock_org(membership.org_id)
    _reload_membership(membership)
    if not membership.is_active:
        return membership
    _require_grant(removed_by, org, membership.role)
    if membership.role == OWNER:
        _ensure_another_owner(membership)
    membership.is_active = False
    membership.permissions = {}
    membership.save(update_fields=["is_active", "permissions"])
    return membership


# Invitations ------------------------------------------------------------------------------------------------------


def site_url() -> str:
    """The site's base URL for links in e-mails: ``SITE_URL`` when set, else the current Site's domain."""
    configured = getattr(settings, "SITE_URL", "")
    if configured:
        return configured.rstrip("/")
    domain = Site.objects.get_current().domain
    scheme = "http" if domain.split(":")[0] in ("localhost", "127.0.0.1") else "https"
    return f"{scheme}://{domain}"


def invitation_accept_url(invitation: Invitation) -> str:
    return f"{site_url()}/org/{invitation.org.slug}/invitation/{invitation.id}/accept/"


def _send_invitation_email(invitation_id) -> None:
    invitation = Invitation.objects.select_related("org", "sent_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted:
        return
    inviter = invitation.sent_by.get_full_name() if invitation.sent_by else "A member"
    send_mail(
        subject=f"Invitation to join {invitation.org.name}",
        message=(
            f"{inviter} has invited you to join the organisation {invitation.org.name} "
            f"as {ROLE_LABELS[invitation.role].lower()}.\n\n"
            f"Log in or sign up with this e-mail address, then accept the invitation:\n"
            f"{invitation_accept_url(invitation)}\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic(durable=True)
def invitation_create(*, org: Org, email: str, role: str, sent_by) -> Invitation:
    """Invite ``email`` to join ``org`` with ``role`` and e-mail them after commit.

    Inviting an address with an invitation still pending updates and re-sends that invitation.
    """
    _validate_role(role)
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError("Enter a valid e-mail address.", {"email": exc.messages}) from exc
    _require_grant(sent_by, org, role)
    if OrgMembership.objects.filter(org=org, user__email__iexact=email, is_active=True).exists():
        raise ApplicationError(
            "This person is already a member.", {"email": ["Already a member of this organisation."]}
        )
    invitation = Invitation.objects.filter(org=org, email__iexact=email, accepted=False).first()
    if invitation is None:
        invitation = Invitation(org=org, email=email)
    invitation.role = role
    invitation.sent_by = sent_by
    invitation.sent_on = timezone.now()
    invitation.full_clean()
    invitation.save()
    transaction.on_commit(partial(_send_invitation_email, invitation.pk))
    return invitation


@transaction.atomic(durable=True)
def invitation_accept(*, invitation: Invitation, user) -> OrgMembership:
    """Join the invitation's organisation with its role; a current member keeps the role they have."""
    invitation = _lock_invitation(invitation)
    if invitation.accepted:
        raise ConflictError("This invitation has already been accepted.")
    if user.email.strip().lower() != invitation.email.strip().lower():
        raise ApplicationError("This invitation was sent to another e-mail address.")
    _lock_org(invitation.org_id)
    membership = OrgMembership.objects.filter(org=invitation.org, user=user, is_active=True).first()
    if membership is None:
        membership = org_member_add(org=invitation.org, user=user, role=invitation.role)
    invitation.accepted = True
    invitation.accepted_on = timezone.now()
    invitation.save(update_fields=["accepted", "accepted_on"])
    logger.info("invitation %s accepted by user %s", invitation.pk, user.pk)
    return membership


@transaction.atomic(durable=True)
def invitation_cancel(*, invitation: Invitation) -> None:
    """Withdraw a pending invitation. Accepted ones stay as the record of who joined how."""
    invitation = _lock_invitation(invitation)
    if invitation.accepted:
        raise ConflictError("This invitation has already been accepted.")
    invitation.delete()
