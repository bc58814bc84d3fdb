import itertools
import threading

from django.core import mail
from django.db import connections, transaction

from server.apps.core.testing import (
    ScopedEndpointCases,
    api_client,
    assert_query_count,
    make_member,
    make_org,
    make_user,
)
from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import ADMIN, DEVELOPER, MEMBER, OPERATOR, OWNER, STAFF, permissions_for_role
from server.apps.org.services import invitation_create, org_delete, org_member_remove
from server.apps.project.services import project_create

API = "/api/v1"
_names = itertools.count(1)


def _unique(prefix: str) -> str:
    return f"{prefix} {next(_names)}"


def _membership(org, user) -> OrgMembership:
    return OrgMembership.objects.get(org=org, user=user)


def _device_in(org):
    """A device claimed into a new project of ``org``, through the device services."""
    from server.apps.device.services import device_claim, device_create

    staff = make_user(is_staff=True)
    project = project_create(org=org, name=_unique("Devices"), created_by=org.created_by)
    return device_claim(user=staff, device=device_create(created_by=staff).id, project=project)


# org/ -------------------------------------------------------------------------------------------------------------


class TestOrgEndpoint(ScopedEndpointCases):
    list_url = f"{API}/org/"
    list_key = "slug"  # the outsider's own organisation is in their list too
    write_method = "patch"
    allowed_role = ADMIN
    denied_role = MEMBER
    create_denied_role = None  # any authenticated user may create an organisation
    create_outsider_status = None  # the body names no organisation

    def make_object(self, org):
        return org

    def detail_url(self, obj):
        return f"{API}/org/{obj.slug}/"

    def write_data(self, obj):
        return {"about": "Changed"}

    def create_data(self, org):
        return {"name": _unique("Created Org"), "about": "New"}


def test_org_list_shows_only_my_orgs_and_staff_all(db):
    mine, other = make_org(), make_org()
    listed = api_client(mine.created_by).get(f"{API}/org/").json()
    assert [row["slug"] for row in listed["results"]] == [mine.slug]
    staff_listed = api_client(make_user(is_staff=True)).get(f"{API}/org/", {"page_size": 1000}).json()
    assert {mine.slug, other.slug} <= {row["slug"] for row in staff_listed["results"]}


def test_org_fields(db):
    org = make_org(name="Field Org")
    body = api_client(org.created_by).get(f"{API}/org/field-org/").json()
    assert body == {
        "id": str(org.id),
        "name": "Field Org",
        "slug": "field-org",
        "about": "",
        "created_on": body["created_on"],
        "created_by": org.created_by.username,
        "avatar": None,
    }


def test_create_makes_the_caller_owner(db):
    user = make_user()
    response = api_client(user).post(f"{API}/org/", {"name": "Brand New"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "brand-new"
    assert _membership(Org.objects.get(slug="brand-new"), user).role == OWNER


def test_create_with_a_taken_name_is_a_field_error(db):
    make_org(name="Taken Name")
    response = api_client(make_user()).post(f"{API}/org/", {"name": "taken name"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert Org.objects.filter(name__iexact="taken name").count() == 1


def test_create_without_trailing_slash_is_not_redirected(db):
    response = api_client(make_user()).post(f"{API}/org", {"name": "No Slash"}, format="json")
    assert response.status_code == 201


def test_rename_keeps_the_slug(db):
    org = make_org(name="Before")
    response = api_client(org.created_by).put(f"{API}/org/before/", {"name": "After"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["slug"]) == ("After", "before")


def test_delete_needs_can_delete_org(db):
    org = make_org()
    admin = make_member(org, ADMIN)
    assert api_client(admin).delete(f"{API}/org/{org.slug}/").status_code == 403
    assert Org.objects.filter(pk=org.pk).exists()
    assert api_client(org.created_by).delete(f"{API}/org/{org.slug}/").status_code == 204
    assert not Org.objects.filter(pk=org.pk).exists()


def test_delete_with_devices_is_a_conflict(db):
    org = make_org()
    _device_in(org)
    assert api_client(org.created_by).delete(f"{API}/org/{org.slug}/").status_code == 409
    assert Org.objects.filter(pk=org.pk).exists()


def test_org_list_query_count_is_constant(db):
    user = make_user()
    make_org(owner=user)
    client = api_client(user)
    # authentication, count, page
    with assert_query_count(3):
        assert client.get(f"{API}/org/").json()["count"] == 1
    for _ in range(4):
        make_org(owner=user)
    with assert_query_count(3):
        assert client.get(f"{API}/org/").json()["count"] == 5


def test_org_name_filter(db):
    user = make_user()
    make_org(owner=user, name="Alpha Labs")
    make_org(owner=user, name="Beta Works")
    listed = api_client(user).get(f"{API}/org/", {"name": "alpha"}).json()
    assert [row["name"] for row in listed["results"]] == ["Alpha Labs"]


# org/<slug>/projects/ and devices/ ----------------------------------------------------------------------------------


class TestOrgProjectsEndpoint(ScopedEndpointCases):
    write_method = None
    list_key = "id"
    read_role = OPERATOR
    list_query_count = 4  # authentication, organisation, count, page

    def make_object(self, org):
        return project_create(org=org, name=_unique("Project"), created_by=org.created_by)

    def detail_url(self, obj):
        return None

    def get_list_url(self, obj):
        return f"{API}/org/{obj.org.slug}/projects/"


def test_org_projects_lists_only_that_org(db):
    org, other = make_org(), make_org()
    project_create(org=org, name="Mine", created_by=org.created_by)
    project_create(org=other, name="Theirs", created_by=other.created_by)
    staff = api_client(make_user(is_staff=True))
    listed = staff.get(f"{API}/org/{org.slug}/projects/").json()
    assert [row["name"] for row in listed["results"]] == ["Mine"]
    assert listed["results"][0]["org"] == org.slug


class TestOrgDevicesEndpoint(ScopedEndpointCases):
    write_method = None
    read_role = OPERATOR
    list_key = "slug"
    list_query_count = 4  # authentication, organisation, count, page

    def make_object(self, org):
        return _device_in(org)

    def detail_url(self, obj):
        return None

    def get_list_url(self, obj):
        return f"{API}/org/{obj.org.slug}/devices/"


def test_org_devices_fields(db):
    org = make_org()
    device = _device_in(org)
    listed = api_client(org.created_by).get(f"{API}/org/{org.slug}/devices/").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert (row["id"], row["slug"], row["org"]) == (device.id, device.slug, org.slug)
    assert row["project"] == str(device.project_id)


# org/<slug>/membership/ -------------------------------------------------------------------------------------------


class TestOrgMembershipEndpoint(ScopedEndpointCases):
    write_method = None
    read_role = OPERATOR

    def make_object(self, org):
        return org

    def detail_url(self, obj):
        return f"{API}/org/{obj.slug}/membership/"


def test_membership_is_my_own_role_and_permissions(db):
    org = make_org()
    operator = make_member(org, OPERATOR)
    body = api_client(operator).get(f"{API}/org/{org.slug}/membership/").json()
    assert (body["user"], body["role"], body["is_active"]) == (operator.slug, OPERATOR, True)
    assert body["permissions"] == permissions_for_role(OPERATOR)


def test_membership_for_staff_outside_the_org_is_the_staff_role(db):
    org = make_org()
    body = api_client(make_user(is_staff=True)).get(f"{API}/org/{org.slug}/membership/").json()
    assert body["role"] == STAFF
    assert all(body["permissions"].values())


# org/<slug>/invite/ and register/ ---------------------------------------------------------------------------------


class TestOrgInviteEndpoint(ScopedEndpointCases):
    write_method = None
    allowed_role = ADMIN
    create_denied_role = MEMBER
    created_model = Invitation

    def make_object(self, org):
        return org

    def detail_url(self, obj):
        return None

    def create_url(self, org):
        return f"{API}/org/{org.slug}/invite/"

    def create_data(self, org):
        return {"email": f"{_unique('invitee').replace(' ', '')}@example.com", "role": MEMBER}


def test_invite_answers_with_the_invitation_and_mails_it(db, django_capture_on_commit_callbacks):
    org = make_org()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(org.created_by).post(
            f"{API}/org/{org.slug}/invite/", {"email": "friend@example.com", "role": ADMIN}, format="json"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["org"], body["email"], body["role"]) == (org.slug, "friend@example.com", ADMIN)
    assert body["accepted"] is False
    assert len(mail.outbox) == 1
    assert f"/org/{org.slug}/invitation/{body['id']}/accept/" in mail.outbox[0].body


def test_invite_bad_input_is_a_field_error(db):
    org = make_org()
    client = api_client(org.created_by)
    assert "email" in client.post(f"{API}/org/{org.slug}/invite/", {"email": "nope"}, format="json").json()
    bad_role = client.post(f"{API}/org/{org.slug}/invite/", {"email": "a@example.com", "role": "zz"}, format="json")
    assert bad_role.status_code == 400
    assert "role" in bad_role.json()
    assert not Invitation.objects.filter(org=org).exists()


def test_admin_inviting_an_owner_is_403(db):
    org = make_org()
    admin = make_member(org, ADMIN)
    response = api_client(admin).post(
        f"{API}/org/{org.slug}/invite/", {"email": "boss@example.com", "role": OWNER}, format="json"
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(org=org).exists()


class TestOrgRegisterEndpoint(ScopedEndpointCases):
    write_method = None
    allowed_role = ADMIN
    create_denied_role = MEMBER
    created_model = OrgMembership
    stored_as = {"user": "user.slug"}

    def make_object(self, org):
        return org

    def detail_url(self, obj):
        return None

    def create_url(self, org):
        return f"{API}/org/{org.slug}/register/"

    def create_data(self, org):
        return {"user": make_user().slug, "role": OPERATOR}


def test_register_by_email_or_slug(db):
    org = make_org()
    client = api_client(org.created_by)
    by_email = make_user(email="ByEmail@Example.com")
    response = client.post(f"{API}/org/{org.slug}/register/", {"user": "byemail@example.com"}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["user"], response.json()["role"]) == (by_email.slug, MEMBER)
    by_slug = make_user()
    response = client.post(f"{API}/org/{org.slug}/register/", {"user": by_slug.slug, "role": ADMIN}, format="json")
    assert response.status_code == 201
    assert _membership(org, by_slug).role == ADMIN


def test_register_unknown_user_or_member_is_400(db):
    org = make_org()
    client = api_client(org.created_by)
    unknown = client.post(f"{API}/org/{org.slug}/register/", {"user": "nobody@example.com"}, format="json")
    assert unknown.status_code == 400
    assert "user" in unknown.json()
    member = make_member(org, MEMBER)
    again = client.post(f"{API}/org/{org.slug}/register/", {"user": member.slug, "role": ADMIN}, format="json")
    assert again.status_code == 400
    assert _membership(org, member).role == MEMBER


# org/<slug>/members/[<user>/] -------------------------------------------------------------------------------------


class TestOrgMembersEndpoint(ScopedEndpointCases):
    list_key = "user"
    write_method = "patch"
    allowed_role = ADMIN
    denied_role = MEMBER
    read_role = OPERATOR
    list_query_count = 4  # authentication, organisation, count, page

    def make_object(self, org):
        return _membership(org, make_member(org, MEMBER))

    def detail_url(self, obj):
        return f"{API}/org/{obj.org.slug}/members/{obj.user.slug}/"

    def list_key_value(self, obj):
        return obj.user.slug

    def get_list_url(self, obj):
        return f"{API}/org/{obj.org.slug}/members/"

    def write_data(self, obj):
        return {"role": DEVELOPER}


def test_members_list_fields(db):
    org = make_org()
    owner = org.created_by
    listed = api_client(owner).get(f"{API}/org/{org.slug}/members/").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert {k: row[k] for k in ("user", "username", "email", "org", "role", "is_active")} == {
        "user": owner.slug,
        "username": owner.username,
        "email": owner.email,
        "org": org.slug,
        "role": OWNER,
        "is_active": True,
    }
    assert {"name", "role_name", "permissions", "created_on"} <= set(row)


def test_members_filter_by_role_and_activity(db):
    org = make_org()
    gone = make_member(org, MEMBER)
    make_member(org, OPERATOR)
    org_member_remove(membership=_membership(org, gone), removed_by=org.created_by)
    client = api_client(org.created_by)
    assert client.get(f"{API}/org/{org.slug}/members/", {"role": OPERATOR}).json()["count"] == 1
    inactive = client.get(f"{API}/org/{org.slug}/members/", {"is_active": "false"}).json()
    assert [row["user"] for row in inactive["results"]] == [gone.slug]


def test_role_change_via_the_api(db):
    org = make_org()
    member = make_member(org, MEMBER)
    url = f"{API}/org/{org.slug}/members/{member.slug}/"
    response = api_client(org.created_by).patch(url, {"role": ADMIN}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["role"] == ADMIN
    assert response.json()["permissions"] == permissions_for_role(ADMIN)


def test_last_owner_cannot_be_demoted_via_the_api(db):
    org = make_org()
    owner = org.created_by
    url = f"{API}/org/{org.slug}/members/{owner.slug}/"
    response = api_client(owner).patch(url, {"role": MEMBER}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()
    assert _membership(org, owner).role == OWNER


def test_admin_cannot_promote_to_owner_via_the_api(db):
    org = make_org()
    admin = make_member(org, ADMIN)
    url = f"{API}/org/{org.slug}/members/{admin.slug}/"
    assert api_client(admin).patch(url, {"role": OWNER}, format="json").status_code == 403
    assert _membership(org, admin).role == ADMIN


def test_remove_member_is_soft(db):
    org = make_org()
    member = make_member(org, MEMBER)
    url = f"{API}/org/{org.slug}/members/{member.slug}/"
    assert api_client(member).delete(url).status_code == 403
    assert api_client(org.created_by).delete(url).status_code == 204
    assert not _membership(org, member).is_active
    assert api_client(member).get(f"{API}/org/{org.slug}/").status_code == 404


def test_unknown_member_is_404(db):
    org = make_org()
    assert api_client(org.created_by).get(f"{API}/org/{org.slug}/members/nobody/").status_code == 404


# invitation/ ------------------------------------------------------------------------------------------------------


class TestInvitationEndpoint(ScopedEndpointCases):
    list_url = f"{API}/invitation/"
    list_key = "id"
    write_method = "delete"
    allowed_role = ADMIN
    denied_role = None  # whoever sees invitations may withdraw them
    hidden_role = MEMBER  # a plain member does not see the organisation's invitations
    list_query_count = 3  # authentication, count, page

    def make_object(self, org):
        return invitation_create(
            org=org, email=f"{_unique('inv').replace(' ', '')}@example.com", role=MEMBER, sent_by=org.created_by
        )

    def detail_url(self, obj):
        return f"{API}/invitation/{obj.id}/"


def test_invitation_filters(db):
    org, other = make_org(), make_org()
    invitation_create(org=org, email="one@example.com", role=MEMBER, sent_by=org.created_by)
    invitation_create(org=other, email="two@example.com", role=MEMBER, sent_by=other.created_by)
    client = api_client(make_user(is_staff=True))
    assert client.get(f"{API}/invitation/", {"org": org.slug}).json()["count"] == 1
    assert client.get(f"{API}/invitation/", {"email": "TWO@example.com"}).json()["results"][0]["org"] == other.slug


def test_accepted_invitation_cannot_be_withdrawn(db):
    org = make_org()
    invitation = invitation_create(org=org, email="in@example.com", role=MEMBER, sent_by=org.created_by)
    invitee = make_user(email="in@example.com")
    assert api_client(invitee).post(f"{API}/invitation/{invitation.id}/accept/").status_code == 200
    assert api_client(org.created_by).delete(f"{API}/invitation/{invitation.id}/").status_code == 409


def test_accept_by_the_invitee_joins_the_org(db):
    org = make_org()
    invitation = invitation_create(org=org, email="Joiner@Example.com", role=OPERATOR, sent_by=org.created_by)
    invitee = make_user(email="joiner@example.com")
    response = api_client(invitee).post(f"{API}/invitation/{invitation.id}/accept/")
    assert response.status_code == 200, response.content
    assert (response.json()["org"], response.json()["role"]) == (org.slug, OPERATOR)
    assert api_client(invitee).get(f"{API}/org/{org.slug}/").status_code == 200
    again = api_client(invitee).post(f"{API}/invitation/{invitation.id}/accept/")
    assert again.status_code == 409


def test_accept_by_someone_else_is_404(db):
    org = make_org()
    invitation = invitation_create(org=org, email="target@example.com", role=MEMBER, sent_by=org.created_by)
    for user in (make_user(), org.created_by):
        assert api_client(user).post(f"{API}/invitation/{invitation.id}/accept/").status_code == 404
    assert api_client().post(f"{API}/invitation/{invitation.id}/accept/").status_code == 401
    assert api_client(make_user()).post(f"{API}/invitation/not-a-uuid/accept/").status_code == 404
    invitation.refresh_from_db()
    assert not invitation.accepted


def _wait_for_a_blocked_query(limit: int = 500) -> None:
    """Until another connection waits on a row lock (polled, at most ``limit`` times 10 ms)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for _ in range(limit):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.01)
    raise AssertionError("the member removal never waited on the organisation's lock")


def test_removing_a_member_while_the_org_is_deleted_is_404(transactional_db):
    # The race: the removal reads the organisation and the membership, then waits on the organisation's lock while
    # the delete holds it; when the delete commits, the organisation is gone. That is a 404, not Org.DoesNotExist.
    org = make_org()
    member = make_member(org, MEMBER)
    deleting, release = threading.Event(), threading.Event()
    answers: dict[str, int] = {}

    def delete_org() -> None:
        try:
            with transaction.atomic():
                org_delete(org=org)
                deleting.set()
                release.wait(10)
        finally:
            connections.close_all()

    def remove_member() -> None:
        try:
            response = api_client(org.created_by).delete(f"{API}/org/{org.slug}/members/{member.slug}/")
            answers["remove"] = response.status_code
        finally:
            connections.close_all()

    deleter = threading.Thread(target=delete_org)
    deleter.start()
    assert deleting.wait(10)
    remover = threading.Thread(target=remove_member)
    remover.start()
    _wait_for_a_blocked_query()
    release.set()
    deleter.join(10)
    remover.join(10)
    assert answers == {"remove": 404}
    assert not Org.objects.filter(pk=org.pk).exists()
    assert not OrgMembership.objects.filter(user=member).exists()
