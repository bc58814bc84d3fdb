import pytest
from django.contrib.sites.models import Site
from django.core import mail

from server.apps.core.errors import ApplicationError, ConflictError, PermissionDeniedError
from server.apps.core.testing import make_member, make_org, make_user
from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR, OWNER, STAFF, permissions_for_role
from server.apps.org.services import (
    invitation_accept,
    invitation_accept_url,
    invitation_cancel,
    invitation_create,
    org_create,
    org_delete,
    org_member_register,
    org_member_remove,
    org_member_role_update,
    org_update,
)
from server.apps.project.services import project_create


def _membership(org, user) -> OrgMembership:
    return OrgMembership.objects.get(org=org, user=user)


# Organisations ----------------------------------------------------------------------------------------------------


def test_creator_becomes_owner_with_the_owner_permissions(db):
    user = make_user()
    org = org_create(name="Acme Sensors", created_by=user)
    membership = _membership(org, user)
    assert org.slug == "acme-sensors"
    assert membership.role == OWNER
    assert membership.permissions == permissions_for_role(OWNER)


def test_org_names_are_unique_ignoring_case(db):
    make_org(name="Acme")
    with pytest.raises(ApplicationError) as caught:
        org_create(name="ACME", created_by=make_user())
    assert "name" in caught.value.extra
    assert Org.objects.filter(name__iexact="acme").count() == 1


def test_same_slug_root_gets_a_counter(db):
    first = make_org(name="Acme!")
    second = make_org(name="Acme?")
    assert (first.slug, second.slug) == ("acme", "acme-2")


def test_rename_keeps_the_slug(db):
    org = make_org(name="Old Name")
    org_update(org=org, name="New Name", about="Now with about")
    org.refresh_from_db()
    assert (org.name, org.slug, org.about) == ("New Name", "old-name", "Now with about")


def test_rename_to_a_taken_name_is_refused(db):
    make_org(name="Taken")
    org = make_org(name="Free")
    with pytest.raises(ApplicationError):
        org_update(org=org, name="taken")
    org.refresh_from_db()
    assert org.name == "Free"


def test_delete_takes_projects_and_memberships(db):
    org = make_org()
    project_create(org=org, name="P", created_by=org.created_by)
    org_delete(org=org)
    assert not Org.objects.filter(pk=org.pk).exists()
    assert not OrgMembership.objects.filter(org_id=org.pk).exists()


def test_delete_is_refused_while_devices_remain(db):
    from server.apps.device.services import device_claim, device_create

    org = make_org()
    project = project_create(org=org, name="P", created_by=org.created_by)
    staff = make_user(is_staff=True)
    device_claim(user=staff, device=device_create(created_by=staff).id, project=project)
    with pytest.raises(ConflictError):
        org_delete(org=org)
    assert Org.objects.filter(pk=org.pk).exists()


# Memberships ------------------------------------------------------------------------------------------------------


def test_register_adds_an_existing_user(db):
    org = make_org()
    user = make_user()
    membership = org_member_register(org=org, user=user, role=OPERATOR, added_by=org.created_by)
    assert (membership.role, membership.is_active) == (OPERATOR, True)
    assert membership.permissions == permissions_for_role(OPERATOR)


def test_register_refuses_a_current_member(db):
    org = make_org()
    member = make_member(org, MEMBER)
    with pytest.raises(ApplicationError):
        org_member_register(org=org, user=member, role=ADMIN, added_by=org.created_by)
    assert _membership(org, member).role == MEMBER


def test_register_brings_back_a_removed_member(db):
    org = make_org()
    member = make_member(org, MEMBER)
    org_member_remove(membership=_membership(org, member), removed_by=org.created_by)
    membership = org_member_register(org=org, user=member, role=OPERATOR, added_by=org.created_by)
    assert (membership.role, membership.is_active) == (OPERATOR, True)


def test_role_change_replaces_the_permission_set(db):
    org = make_org()
    member = make_member(org, MEMBER)
    membership = org_member_role_update(membership=_membership(org, member), role=ADMIN, changed_by=org.created_by)
    assert membership.role == ADMIN
    assert _membership(org, member).permissions == permissions_for_role(ADMIN)


def test_unknown_role_is_refused(db):
    org = make_org()
    member = make_member(org, MEMBER)
    with pytest.raises(ApplicationError) as caught:
        org_member_role_update(membership=_membership(org, member), role="zz", changed_by=org.created_by)
    assert "role" in caught.value.extra


def test_last_owner_keeps_the_role(db):
    org = make_org()
    with pytest.raises(ApplicationError) as caught:
        org_member_role_update(membership=_membership(org, org.created_by), role=ADMIN, changed_by=org.created_by)
    assert "owner" in caught.value.message
    assert _membership(org, org.created_by).role == OWNER


def test_last_owner_cannot_be_removed(db):
    org = make_org()
    with pytest.raises(ApplicationError):
        org_member_remove(membership=_membership(org, org.created_by), removed_by=org.created_by)
    assert _membership(org, org.created_by).is_active


def test_an_owner_can_step_down_once_there_is_another(db):
    org = make_org()
    second = make_member(org, OWNER)
    org_member_role_update(membership=_membership(org, org.created_by), role=ADMIN, changed_by=second)
    assert _membership(org, org.created_by).role == ADMIN
    with pytest.raises(ApplicationError):  # now `second` is the last owner
        org_member_role_update(membership=_membership(org, second), role=ADMIN, changed_by=second)


def test_an_inactive_owner_does_not_count_as_another_owner(db):
    org = make_org()
    second = make_member(org, OWNER)
    org_member_remove(membership=_membership(org, second), removed_by=org.created_by)
    with pytest.raises(ApplicationError):
        org_member_remove(membership=_membership(org, org.created_by), removed_by=org.created_by)


def test_admin_cannot_make_owners_or_demote_them(db):
    org = make_org()
    admin = make_member(org, ADMIN)
    other_owner = make_member(org, OWNER)
    with pytest.raises(PermissionDeniedError):
        org_member_role_update(membership=_membership(org, admin), role=OWNER, changed_by=admin)
    with pytest.raises(PermissionDeniedError):
        org_member_role_update(membership=_membership(org, other_owner), role=MEMBER, changed_by=admin)
    with pytest.raises(PermissionDeniedError):
        org_member_remove(membership=_membership(org, other_owner), removed_by=admin)
    assert _membership(org, admin).role == ADMIN
    assert _membership(org, other_owner).role == OWNER


def test_only_staff_give_the_staff_role(db):
    org = make_org()
    member = make_member(org, MEMBER)
    with pytest.raises(PermissionDeniedError):
        org_member_role_update(membership=_membership(org, member), role=STAFF, changed_by=org.created_by)
    staff = make_user(is_staff=True)
    assert org_member_role_update(membership=_membership(org, member), role=STAFF, changed_by=staff).role == STAFF


def test_removal_is_soft_and_clears_permissions(db):
    org = make_org()
    member = make_member(org, MEMBER)
    org_member_remove(membership=_membership(org, member), removed_by=org.created_by)
    membership = _membership(org, member)
    assert (membership.is_active, membership.permissions) == (False, {})
    assert not Org.objects.restrict(member, "view").filter(pk=org.pk).exists()


# Invitations ------------------------------------------------------------------------------------------------------


def test_invitation_is_mailed_after_commit_with_the_accept_link(db, django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "https://iotile.example.org/"
    org = make_org(name="Mail Org")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = invitation_create(org=org, email="new@example.com", role=ADMIN, sent_by=org.created_by)
    assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert f"https://iotile.example.org/org/mail-org/invitation/{invitation.id}/accept/" in message.body
    assert invitation_accept_url(invitation) in message.body


def test_accept_url_falls_back_to_the_site_domain(db, settings):
    settings.SITE_URL = ""
    Site.objects.filter(pk=settings.SITE_ID).update(domain="iotile.example.com")
    Site.objects.clear_cache()
    org = make_org(name="Site Org")
    invitation = invitation_create(org=org, email="x@example.com", role=MEMBER, sent_by=org.created_by)
    expected = f"https://iotile.example.com/org/site-org/invitation/{invitation.id}/accept/"
    assert invitation_accept_url(invitation) == expected
    Site.objects.clear_cache()


def test_reinviting_updates_the_pending_invitation(db, django_capture_on_commit_callbacks):
    org = make_org()
    with django_capture_on_commit_callbacks(execute=True):
        first = invitation_create(org=org, email="again@example.com", role=MEMBER, sent_by=org.created_by)
        second = invitation_create(org=org, email="AGAIN@example.com", role=ADMIN, sent_by=org.created_by)
    assert first.pk == second.pk
    assert Invitation.objects.get(pk=first.pk).role == ADMIN
    assert len(mail.outbox) == 2


def test_inviting_a_member_or_a_bad_address_is_refused(db):
    org = make_org()
    member = make_member(org, MEMBER)
    with pytest.raises(ApplicationError):
        invitation_create(org=org, email=member.email.upper(), role=MEMBER, sent_by=org.created_by)
    with pytest.raises(ApplicationError) as caught:
        invitation_create(org=org, email="not-an-address", role=MEMBER, sent_by=org.created_by)
    assert "email" in caught.value.extra
    assert not Invitation.objects.filter(org=org).exists()


def test_admin_cannot_invite_an_owner(db):
    org = make_org()
    admin = make_member(org, ADMIN)
    with pytest.raises(PermissionDeniedError):
        invitation_create(org=org, email="boss@example.com", role=OWNER, sent_by=admin)


def test_accept_joins_with_the_role(db):
    org = make_org()
    invitation = invitation_create(org=org, email="Invitee@Example.com", role=ADMIN, sent_by=org.created_by)
    user = make_user(email="invitee@example.com")
    membership = invitation_accept(invitation=invitation, user=user)
    assert (membership.org, membership.role, membership.is_active) == (org, ADMIN, True)
    invitation.refresh_from_db()
    assert invitation.accepted
    assert invitation.accepted_on is not None


def test_accept_twice_is_refused(db):
    org = make_org()
    invitation = invitation_create(org=org, email="twice@example.com", role=MEMBER, sent_by=org.created_by)
    user = make_user(email="twice@example.com")
    invitation_accept(invitation=invitation, user=user)
    with pytest.raises(ConflictError):
        invitation_accept(invitation=invitation, user=user)


def test_accept_by_another_address_is_refused(db):
    org = make_org()
    invitation = invitation_create(org=org, email="right@example.com", role=MEMBER, sent_by=org.created_by)
    wrong = make_user(email="wrong@example.com")
    with pytest.raises(ApplicationError):
        invitation_accept(invitation=invitation, user=wrong)
    invitation.refresh_from_db()
    assert not invitation.accepted
    assert not OrgMembership.objects.filter(org=org, user=wrong).exists()


def test_accept_keeps_a_current_members_role(db):
    org = make_org()
    owner = org.created_by
    invitation = Invitation.objects.create(org=org, email=owner.email, role=MEMBER)
    membership = invitation_accept(invitation=invitation, user=owner)
    assert membership.role == OWNER


def test_cancel_deletes_pending_and_keeps_accepted(db):
    org = make_org()
    pending = invitation_create(org=org, email="p@example.com", role=MEMBER, sent_by=org.created_by)
    invitation_cancel(invitation=pending)
    assert not Invitation.objects.filter(pk=pending.pk).exists()
    accepted = invitation_create(org=org, email="a@example.com", role=MEMBER, sent_by=org.created_by)
    invitation_accept(invitation=accepted, user=make_user(email="a@example.com"))
    with pytest.raises(ConflictError):
        invitation_cancel(invitation=accepted)
    assert Invitation.objects.filter(pk=accepted.pk).exists()
