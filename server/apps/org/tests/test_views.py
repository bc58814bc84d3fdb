"""The organisation page and its forms, and accepting an invitation, for each kind of visitor."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.slugs import device_slug
from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.device.models import Device
from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR, OWNER
from server.apps.org.services import invitation_create
from server.apps.project.models import Project
from server.apps.project.services import project_create

_serials = itertools.count(0x7B000)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_device(org, project=None) -> Device:
    # Straight to the model: these tests need a device in an org, not the claim workflow.
    serial = next(_serials)
    return Device.objects.create(id=serial, slug=device_slug(serial), org=org, project=project)


def org_url(org, name: str = "detail", **kwargs) -> str:
    return reverse(f"org:{name}", kwargs={"org_slug": org.slug, **kwargs})


# The page -----------------------------------------------------------------------------------------------------------


def test_org_page_shows_projects_members_and_counts(db):
    owner = make_user(name="Olive Owner")
    org = make_org(owner=owner, name="Acme Water")
    project = project_create(org=org, name="North basin", created_by=owner)
    make_member(org, MEMBER, name="Milo Member")
    add_device(org, project)
    add_device(org, project)

    response = logged_in(owner).get(org_url(org))

    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Acme Water", "North basin", "Olive Owner", "Milo Member", "Owner", "Member"):
        assert text in body
    assert response.context["device_count"] == 2
    assert [p.device_count for p in response.context["projects"]] == [2]
    assert reverse("project:detail", kwargs={"org_slug": org.slug, "project_id": project.slug}) in body


def test_org_page_is_404_for_other_orgs_and_redirects_visitors(db):
    org = make_org()
    outsider = make_user()
    make_org(owner=outsider)

    response = logged_in(outsider).get(org_url(org))
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()
    assert logged_in(outsider).get("/org/no-such-org/").status_code == 404
    response = Client().get(org_url(org))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_org_page_is_visible_to_staff(db):
    org = make_org()
    assert logged_in(make_user(is_staff=True)).get(org_url(org)).status_code == 200


def test_owner_sees_every_control(db):
    owner = make_user()
    org = make_org(owner=owner)
    make_member(org, MEMBER)
    response = logged_in(owner).get(org_url(org))
    context = response.context
    for form in ("invite_form", "org_form", "project_form"):
        assert form in context
    assert context["invitations"] is not None
    assert any(m.manageable for m in context["members"])
    body = response.content.decode()
    assert 'data-testid="invite-form"' in body
    assert "Remove from organisation" in body


@pytest.mark.parametrize("role", [MEMBER, OPERATOR])
def test_members_without_rights_get_a_read_only_page(db, role):
    org = make_org()
    user = make_member(org, role)
    response = logged_in(user).get(org_url(org))
    assert response.status_code == 200
    for form in ("invite_form", "org_form", "project_form", "invitations"):
        assert form not in response.context
    assert not any(m.manageable for m in response.context["members"])
    body = response.content.decode()
    for control in ('data-testid="invite-form"', 'data-testid="org-form"', "Remove from organisation", "New project"):
        assert control not in body


def test_administrators_may_not_hand_out_the_owner_role(db):
    org = make_org()
    admin = make_member(org, ADMIN)
    response = logged_in(admin).get(org_url(org))
    offered = {code for code, _ in response.context["role_choices"]}
    assert OWNER not in offered
    assert {ADMIN, MEMBER, OPERATOR} <= offered
    # The owner's row offers no controls to an administrator.
    owner_row = next(m for m in response.context["members"] if m.role == OWNER)
    assert not owner_row.manageable


@pytest.mark.parametrize("rows", [1, 6])
def test_org_page_query_count_is_constant(db, rows):
    owner = make_user()
    org = make_org(owner=owner)
    for number in range(rows):
        project = project_create(org=org, name=f"Project {number}", created_by=owner)
        add_device(org, project)
        make_member(org, MEMBER)
        invitation_create(org=org, email=f"guest{number}@example.com", role=MEMBER, sent_by=owner)
    client = logged_in(owner)
    # session, user, org, the user's role and permissions; projects (count, page), members (count, page), the
    # org's device count, invitations (count, page)
    with assert_query_count(11):
        response = client.get(org_url(org))
    assert response.context["projects"].paginator.count == rows
    assert response.context["members"].paginator.count == rows + 1


def test_org_page_pages_long_tables(db):
    owner = make_user()
    org = make_org(owner=owner)
    for number in range(30):
        project_create(org=org, name=f"Project {number:02d}", created_by=owner)
    client = logged_in(owner)
    first = client.get(org_url(org))
    assert len(first.context["projects"]) == 25
    assert "projects=2" in first.content.decode()
    second = client.get(org_url(org) + "?projects=2")
    assert [p.name for p in second.context["projects"]] == [f"Project {n}" for n in range(25, 30)]


# Settings -----------------------------------------------------------------------------------------------------------


def test_renaming_keeps_the_slug(db):
    owner = make_user()
    org = make_org(owner=owner, name="Acme Water")
    response = logged_in(owner).post(org_url(org, "edit"), {"name": "Acme Water Works", "about": "Pumps"})
    assert response.status_code == 302
    assert response["Location"] == org_url(org)
    org.refresh_from_db()
    assert (org.name, org.slug, org.about) == ("Acme Water Works", "acme-water", "Pumps")


def test_renaming_to_a_taken_name_shows_the_error(db):
    make_org(name="Taken Name")
    owner = make_user()
    org = make_org(owner=owner, name="Mine")
    response = logged_in(owner).post(org_url(org, "edit"), {"name": "taken name"})
    assert response.status_code == 200
    assert response.context["org_form"].errors["name"] == ["'taken name' is taken."]
    assert response.context["failed_form"] == "org_form"
    org.refresh_from_db()
    assert org.name == "Mine"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("edit", {"name": "New name"}),
        ("invite", {"email": "x@example.com", "role": MEMBER}),
    ],
)
def test_writes_without_the_permission_are_403_and_change_nothing(db, name, data):
    org = make_org(name="Unchanged")
    member = make_member(org, MEMBER)
    response = logged_in(member).post(org_url(org, name), data)
    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()
    org.refresh_from_db()
    assert org.name == "Unchanged"
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("name", ["edit", "invite"])
def test_writes_to_another_org_are_404(db, name):
    org = make_org(name="Theirs")
    outsider = make_user()
    make_org(owner=outsider)
    response = logged_in(outsider).post(org_url(org, name), {"name": "Mine now", "email": "a@b.co", "role": MEMBER})
    assert response.status_code == 404
    assert Org.objects.get(pk=org.pk).name == "Theirs"


# Invitations and members --------------------------------------------------------------------------------------------


def test_inviting_sends_the_accept_link(db, mailoutbox, django_capture_on_commit_callbacks):
    owner = make_user()
    org = make_org(owner=owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(owner).post(org_url(org, "invite"), {"email": "new@example.com", "role": OPERATOR})
    assert response.status_code == 302
    invitation = Invitation.objects.get(org=org)
    assert (invitation.email, invitation.role) == ("new@example.com", OPERATOR)
    assert len(mailoutbox) == 1
    assert org_url(org, "invitation-accept", invitation_id=invitation.pk) in mailoutbox[0].body
    page = logged_in(owner).get(org_url(org))
    assert "new@example.com" in page.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"email": "not-an-address", "role": MEMBER}, "email"), ({"email": "a@example.com", "role": "zz"}, "role")],
)
def test_invite_form_errors(db, data, field):
    owner = make_user()
    org = make_org(owner=owner)
    response = logged_in(owner).post(org_url(org, "invite"), data)
    assert response.status_code == 200
    assert field in response.context["invite_form"].errors
    assert not Invitation.objects.exists()


def test_inviting_a_member_is_refused_on_the_form(db):
    owner = make_user()
    org = make_org(owner=owner)
    member = make_member(org, MEMBER)
    response = logged_in(owner).post(org_url(org, "invite"), {"email": member.email, "role": ADMIN})
    assert response.context["invite_form"].errors["email"] == ["Already a member of this organisation."]


def test_an_administrator_cannot_invite_an_owner(db):
    org = make_org()
    admin = make_member(org, ADMIN)
    response = logged_in(admin).post(org_url(org, "invite"), {"email": "boss@example.com", "role": OWNER})
    assert response.status_code == 200
    assert "role" in response.context["invite_form"].errors
    assert not Invitation.objects.exists()


def test_withdrawing_an_invitation(db):
    owner = make_user()
    org = make_org(owner=owner)
    invitation = invitation_create(org=org, email="x@example.com", role=MEMBER, sent_by=owner)
    url = org_url(org, "invitation-cancel", invitation_id=invitation.pk)

    assert logged_in(make_member(org, MEMBER)).post(url).status_code == 404  # members do not see invitations
    assert logged_in(owner).post(url).status_code == 302
    assert not Invitation.objects.exists()


def test_changing_a_role_and_removing_a_member(db):
    owner = make_user()
    org = make_org(owner=owner)
    member = make_member(org, MEMBER)
    client = logged_in(owner)

    response = client.post(org_url(org, "member-role", user_slug=member.slug), {"role": ADMIN})
    assert response.status_code == 302
    assert OrgMembership.objects.get(org=org, user=member).role == ADMIN

    response = client.post(org_url(org, "member-remove", user_slug=member.slug))
    assert response.status_code == 302
    assert not OrgMembership.objects.get(org=org, user=member).is_active


def test_the_last_owner_keeps_the_role_with_a_message(db):
    owner = make_user()
    org = make_org(owner=owner)
    client = logged_in(owner)
    response = client.post(org_url(org, "member-role", user_slug=owner.slug), {"role": MEMBER}, follow=True)
    assert OrgMembership.objects.get(org=org, user=owner).role == OWNER
    assert "at least one owner" in response.content.decode()


def test_member_changes_need_the_permission(db):
    org = make_org()
    member = make_member(org, MEMBER)
    other = make_member(org, MEMBER)
    client = logged_in(member)
    assert client.post(org_url(org, "member-role", user_slug=other.slug), {"role": ADMIN}).status_code == 403
    assert client.post(org_url(org, "member-remove", user_slug=other.slug)).status_code == 403
    assert OrgMembership.objects.get(org=org, user=other).role == MEMBER
    outsider = make_user()
    assert logged_in(outsider).post(org_url(org, "member-remove", user_slug=other.slug)).status_code == 404


def test_new_project_from_the_org_page(db):
    owner = make_user()
    org = make_org(owner=owner)
    client = logged_in(owner)
    response = client.post(reverse("project:create", kwargs={"org_slug": org.slug}), {"name": "  North   basin "})
    project = Project.objects.get(org=org)
    assert project.name == "North basin"
    assert response["Location"] == reverse("project:detail", kwargs={"org_slug": org.slug, "project_id": project.slug})

    again = client.post(reverse("project:create", kwargs={"org_slug": org.slug}), {"name": "north basin"})
    assert again.status_code == 200
    assert again.context["project_form"].errors["name"] == ["'north basin' is taken."]
    assert Project.objects.filter(org=org).count() == 1

    member = make_member(org, MEMBER)
    denied = logged_in(member).post(reverse("project:create", kwargs={"org_slug": org.slug}), {"name": "Another"})
    assert denied.status_code == 403


# Accepting an invitation --------------------------------------------------------------------------------------------


@pytest.fixture
def invitation(db):
    owner = make_user(name="Olive Owner")
    org = make_org(owner=owner, name="Acme Water")
    return invitation_create(org=org, email="guest@example.com", role=OPERATOR, sent_by=owner)


def accept_url(invitation) -> str:
    return org_url(invitation.org, "invitation-accept", invitation_id=invitation.pk)


def test_the_invitee_accepts_and_joins_with_the_role(invitation):
    guest = make_user(email="Guest@example.com")
    client = logged_in(guest)
    page = client.get(accept_url(invitation))
    assert page.status_code == 200
    assert "Join Acme Water" in page.content.decode()

    response = client.post(accept_url(invitation))
    assert response["Location"] == org_url(invitation.org)
    assert OrgMembership.objects.get(org=invitation.org, user=guest).role == OPERATOR
    invitation.refresh_from_db()
    assert invitation.accepted

    # Following the link again goes to the organisation.
    assert client.get(accept_url(invitation))["Location"] == org_url(invitation.org)


def test_someone_else_gets_a_404_that_names_nothing(invitation):
    response = logged_in(make_user()).get(accept_url(invitation))
    assert response.status_code == 404
    body = response.content.decode()
    assert "not for this account" in body
    assert "Acme Water" not in body
    assert "guest@example.com" not in body
    assert logged_in(make_user()).post(accept_url(invitation)).status_code == 404
    assert not OrgMembership.objects.filter(org=invitation.org, user__email="guest@example.com").exists()


def test_a_link_with_the_wrong_org_or_id_is_404(invitation):
    guest = make_user(email="guest@example.com")
    other = make_org()
    wrong_org = org_url(other, "invitation-accept", invitation_id=invitation.pk)
    assert logged_in(guest).get(wrong_org).status_code == 404
    assert Client().get(wrong_org).status_code == 404
    assert Client().get(f"/org/{invitation.org.slug}/invitation/not-a-uuid/accept/").status_code == 404


def test_a_visitor_is_offered_to_sign_up_and_comes_back(invitation):
    client = Client()
    page = client.get(accept_url(invitation))
    assert page.status_code == 200
    body = page.content.decode()
    assert "guest%40example.com" in page.context["signup_url"]
    assert "Acme Water" in body
    assert "operator" in body
    assert client.session["org_pending_invitation"] == accept_url(invitation)
    # The link reached the invited address: signing up with it needs no second confirmation.
    assert client.session["account_verified_email"] == "guest@example.com"

    response = client.post(
        reverse("account_signup") + "?next=" + accept_url(invitation),
        {
            "email": "guest@example.com",
            "username": "guest",
            "password1": "a-long-Pass-phrase-42",
            "password2": "a-long-Pass-phrase-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == accept_url(invitation)
    assert client.post(accept_url(invitation)).status_code == 302
    assert OrgMembership.objects.get(org=invitation.org, user__email="guest@example.com").role == OPERATOR


def test_after_signing_in_elsewhere_the_pending_invitation_is_the_landing_page(invitation):
    guest = make_user(email="guest@example.com", password="a-long-Pass-phrase-42")
    client = Client()
    client.get(accept_url(invitation))
    response = client.post(reverse("account_login"), {"login": guest.email, "password": "a-long-Pass-phrase-42"})
    assert response.status_code == 302
    assert response["Location"] == accept_url(invitation)


def test_a_visitor_with_an_accepted_invitation_gets_404(invitation):
    invitation.accepted = True
    invitation.save()
    assert Client().get(accept_url(invitation)).status_code == 404
