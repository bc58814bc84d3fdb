"""Reads on organisations, memberships and invitations, already scoped to the user asking."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from server.apps.authentication.models import Account
from server.apps.core.inputs import parse_uuid
from server.apps.org.models import Invitation, Org, OrgMembership


def org_list_for_user(*, user) -> QuerySet[Org]:
    """The organisations ``user`` belongs to (all of them for staff)."""
    return Org.objects.restrict(user, "view").select_related("created_by")


def org_get_for_user(*, user, slug: str) -> Org | None:
    return org_list_for_user(user=user).filter(slug=slug).first()


def org_member_list(*, user, org: Org) -> QuerySet[OrgMembership]:
    """The memberships of a visible organisation, with their accounts."""
    return OrgMembership.objects.restrict(user, "view").filter(org=org).select_related("user", "org")


def org_membership_of(*, org: Org, user) -> OrgMembership | None:
    """``user``'s own active membership of ``org``, if any."""
    return OrgMembership.objects.filter(org=org, user=user, is_active=True).select_related("user", "org").first()


def invitation_list_for_user(*, user) -> QuerySet[Invitation]:
    """The invitations ``user`` may manage (the model's scope asks for ``can_manage_users``)."""
    return Invitation.objects.restrict(user, "view").select_related("org", "sent_by")


def invitation_for_invitee(*, user, invitation_id: str) -> Invitation | None:
    """An invitation addressed to ``user``'s e-mail. Not org-scoped: the invitee is not a member yet."""
    if user is None or not user.is_authenticated:
        return None
    try:
        pk = parse_uuid(invitation_id)
    except ValueError:
        return None
    return Invitation.objects.select_related("org").filter(pk=pk, email__iexact=user.email).first()


def account_for_registration(*, value: str) -> Account | None:
    """The active account an organisation manager names by slug or e-mail when adding it to the organisation."""
    value = (value or "").strip()
    if not value:
        return None
    return Account.objects.filter(Q(slug=value) | Q(email__iexact=value), is_active=True).first()


def org_active_member_list(*, user, org: Org) -> QuerySet[OrgMembership]:
    """The current members of a visible organisation, by username, with their accounts."""
    return org_member_list(user=user, org=org).filter(is_active=True).order_by("user__username")


def invitation_pending_list(*, user, org: Org) -> QuerySet[Invitation]:
    """The invitations of ``org`` still waiting for an answer, newest first, if ``user`` may manage them."""
    return invitation_list_for_user(user=user).filter(org=org, accepted=False).order_by("-sent_on")


def invitation_by_link(*, org_slug: str, invitation_id: str) -> Invitation | None:
    """The invitation an accept link names (organisation slug and id), for a visitor who has no account yet.

    Not scoped to a user: the link, mailed to the invitee, is the secret. Accepting still needs the invitee's own
    account (``invitation_for_invitee``).
    """
    try:
        pk = parse_uuid(invitation_id)
    except ValueError:
        return None
    return Invitation.objects.select_related("org", "sent_by").filter(pk=pk, org__slug=org_slug).first()
